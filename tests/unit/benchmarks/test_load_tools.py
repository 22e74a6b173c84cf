"""The load benchmark's own tools: the generator's keep-alive client, the subscriber's record of arrivals, the
percentiles and the README table regenerated from stored runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from benchmarks import load_subscriber
from benchmarks.load_generator import Connections
from benchmarks.load_measure import stats
from benchmarks.load_report import append_result, readme_table
from tests.support import serve


async def test_the_subscriber_notes_each_leads_first_delivery_over_reused_connections() -> None:
    load_subscriber.arrivals.clear()
    load_subscriber.repeats = 0
    async with serve(load_subscriber.app) as url:
        client = Connections(url, "key", limit=2)
        try:
            for lead in ("lead-1", "lead-2", "lead-3", "lead-1"):
                event = {"subject": lead, "type": "sla.breached", "data": {"due_at": "2026-11-27T08:00:00+00:00"}}
                status, body = await client.post(json.dumps(event).encode())
                assert (status, body) == (204, b"")
            assert len(client._idle) == 1  # one after another: the same connection every time
        finally:
            client.close()
        async with httpx.AsyncClient() as http:
            got = (await http.get(url + "/_arrivals")).json()
    assert sorted(got["arrivals"]) == ["lead-1", "lead-2", "lead-3"]
    assert got["arrivals"]["lead-2"][1:] == ["sla.breached", "2026-11-27T08:00:00+00:00"]
    assert got["repeats"] == 1


def test_percentiles_are_read_from_the_sorted_durations_in_milliseconds() -> None:
    figures = stats([i / 1000 for i in range(100, 0, -1)])  # 1 … 100 ms, unsorted
    assert figures == {"n": 100, "p50_ms": 51.0, "p99_ms": 100.0, "max_ms": 100.0}
    assert stats([]) == {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}


def _run(database: str, date: str, post_p99: float) -> dict[str, Any]:
    figures = {"n": 10, "p50_ms": 12.0, "p99_ms": post_p99, "max_ms": post_p99}
    rate = {"offered_per_s": 200.0, "achieved_per_s": 199.5, "assigned_in_time_pct": 100.0,
            "backlog_posted_minus_assigned": {"mid": 3, "end": 2}, "router_lag": {"mid": 1, "end": 0, "max": 7},
            "kafka_baseline": {"p99_ms": 5.0}, "ratio_post_to_assigned_p99_to_kafka_p99": 4.0,
            **{k: figures for k in ("post", "post_to_assigned", "post_to_clock", "outbox_to_kafka",
                                    "kafka_to_decision", "decision_to_kafka", "kafka_to_clock", "generator_late")}}
    return {"date": date, "database": database, "commit": "abcdef1234", "machine": {"nproc": 2, "python": "3.11"},
            "settings": {"seconds": 60.0}, "rates": [rate]}


def test_the_readme_table_shows_the_latest_run_of_each_database(tmp_path: Path) -> None:
    results = tmp_path / "bench" / "results.json"
    append_result(_run("sqlite", "2026-11-26T10:00:00+00:00", 900.0), results)
    append_result(_run("sqlite", "2026-11-27T10:00:00+00:00", 45.0), results)
    append_result(_run("postgres", "2026-11-27T11:00:00+00:00", 48.0), results)
    table = readme_table(results)
    assert "| 200/s (199.5 achieved) | 12 ms / 45 ms | 12 ms / 45 ms |" in table
    assert "900 ms" not in table  # the older SQLite run is superseded
    assert table.index("postgres, 2026-11-27") < table.index("sqlite, 2026-11-27")
    assert "| 3 → 2 (router lag 1 → 0, max 7) | 5.0 ms (×4.0) |" in table
    assert len(json.loads(results.read_text())) == 3
