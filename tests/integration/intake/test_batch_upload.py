"""Batch uploads: the row limit is applied while reading, and a large batch never freezes the event loop."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

from intake import tables
from tests.integration.intake.conftest import Intake, count_rows

CSV = {"Content-Type": "text/csv"}


def csv_batch(rows: int) -> bytes:
    lines = ["email,phone,first_name,company,country,industry,employees,source,intent,campaign"]
    lines += [f"rep{i}@example{i % 97}.com,+1 415 555 {i % 10_000:04d},Ana{i},Company {i},United States,"
              f"fintech,{100 + i},badge_scan,demo_request,expo-2026" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


class LoopLag:
    """How long the event loop is kept busy by one callback (a task step, an I/O handler, …).

    Each callback's CPU time on the loop's thread is measured (``time.thread_time``): unlike wall-clock lag, it
    does not count the time this process waits for a CPU on a busy machine, or for the GIL while a worker
    thread runs, so it measures what the code does, not what the machine does around it. Garbage collection
    is paused while it runs.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.active = False

    @contextmanager
    def running(self) -> Iterator[LoopLag]:
        original = asyncio.events.Handle._run
        probe = self

        def timed_run(handle: asyncio.events.Handle) -> None:
            started = time.thread_time()
            try:
                original(handle)
            finally:
                if probe.active:  # the step that leaves the block runs test code after it; not counted
                    probe.worst = max(probe.worst, time.thread_time() - started)

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
        self.active = True
        # A full garbage collection of the test process's heap (hundreds of tests in) can land in any callback;
        # it is not the code's doing, so it is kept out of the measurement.
        gc.collect()
        gc.disable()
        try:
            yield self
        finally:
            gc.enable()
            self.active = False
            asyncio.events.Handle._run = original  # type: ignore[method-assign]

    @property
    def worst_ms(self) -> float:
        return self.worst * 1000


async def test_a_5000_row_batch_is_stored_while_the_event_loop_stays_free(intake: Intake) -> None:
    body = csv_batch(5_000)
    health: list[float] = []

    async def ping_health(done: asyncio.Event) -> None:
        while not done.is_set():
            started = time.perf_counter()
            assert (await intake.http.get("/healthz")).status_code == 200
            health.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)

    with LoopLag().running() as lag:
        done = asyncio.Event()
        pinger = asyncio.create_task(ping_health(done))
        answer = await intake.http.post("/v1/leads/batch", content=body, headers=CSV, timeout=120)
        done.set()
        await pinger

    assert answer.status_code == 200, answer.text
    assert len(answer.json()["accepted"]) == 5_000 and answer.json()["rejected"] == []
    assert await count_rows(intake, tables.leads) == 5_000
    assert await count_rows(intake, tables.outbox) >= 5_000
    # Blocked for 0.8-9 s at a time before; now no callback holds the loop long, and other requests are
    # answered meanwhile (their latency is not asserted: on a loaded CI machine it measures the machine).
    assert lag.worst_ms < 50, f"the event loop was blocked for {lag.worst_ms:.0f} ms of CPU"
    assert len(health) >= 3


async def test_a_5mb_csv_of_blank_rows_is_refused_at_once_naming_the_limit(intake: Intake) -> None:
    body = b"email,source\n" + b"\n" * (5 * 1024 * 1024 - 20)
    started = time.perf_counter()
    with LoopLag().running() as lag:
        answer = await intake.http.post("/v1/leads/batch", content=body, headers=CSV, timeout=60)
    assert answer.status_code == 413
    assert "5000 rows" in answer.json()["detail"] and "INTAKE_MAX_BATCH_ROWS" in answer.json()["detail"]
    assert time.perf_counter() - started < 5.0  # reading all 2.6M blank rows took 6 s of blocked loop
    assert lag.worst_ms < 50
    assert await count_rows(intake, tables.leads) == 0


async def test_one_row_over_the_limit_refuses_the_whole_batch_and_stores_nothing(intake: Intake) -> None:
    answer = await intake.http.post("/v1/leads/batch", content=csv_batch(5_001), headers=CSV, timeout=60)
    json_answer = await intake.http.post("/v1/leads/batch", json={"leads": [
        {"email": f"j{i}@example.com", "source": "web_form"} for i in range(5_001)]}, timeout=60)
    assert answer.status_code == 413 and json_answer.status_code == 413
    assert await count_rows(intake, tables.leads) == 0
    assert await count_rows(intake, tables.outbox) == 0


async def test_duplicates_within_a_batch_and_against_earlier_leads_are_marked(intake: Intake) -> None:
    first = (await intake.http.post("/v1/leads", json={"email": "old@example.com", "source": "web_form"})).json()
    answer = (await intake.http.post("/v1/leads/batch", json={"leads": [
        {"email": "new@example.com", "source": "badge_scan"},
        {"email": "OLD@example.com", "source": "badge_scan"},
        {"email": "new@example.com", "phone": "+14155550100", "source": "badge_scan"},
        {"phone": "+1 415 555 0100", "source": "badge_scan"},
    ]})).json()
    rows = {row["row"]: row for row in answer["accepted"]}
    assert rows[1]["duplicate_of"] is None
    assert rows[2]["duplicate_of"] == first["lead_id"]
    assert rows[3]["duplicate_of"] == rows[1]["lead_id"]
    assert rows[4]["duplicate_of"] == rows[1]["lead_id"]


async def test_an_upload_sent_again_under_its_idempotency_key_gets_the_first_answer_and_stores_nothing_twice(
        intake: Intake) -> None:
    """A resumed import whose answer was lost sends its chunk again: same key, same answer, no second copy."""
    body = csv_batch(3) + b"not-an-email,,,,,,,badge_scan,,\n"
    key = {**CSV, "Idempotency-Key": "import-abc-chunk-0"}
    first = await intake.http.post("/v1/leads/batch", content=body, headers=key)
    again = await intake.http.post("/v1/leads/batch", content=body, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert len(first.json()["accepted"]) == 3 and [r["row"] for r in first.json()["rejected"]] == [4]
    assert await count_rows(intake, tables.leads) == 3
    other = await intake.http.post("/v1/leads/batch", content=csv_batch(2), headers=key)
    assert other.status_code == 409
    assert await count_rows(intake, tables.leads) == 3
    unkeyed = await intake.http.post("/v1/leads/batch", content=body, headers=CSV)  # no key: stored again
    assert unkeyed.status_code == 200 and await count_rows(intake, tables.leads) == 6
