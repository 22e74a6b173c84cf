"""Webhook delivery under hostile or broken targets: a subscription whose URL cannot be sent to fails alone,
a receiver that trickles its answer hits the total deadline, a huge answer is cut off, and a delivery whose
outcome cannot be recorded does not keep the others from being recorded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Row, insert
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from shared import db
from shared.clock import SystemClock
from sla_monitor import tables
from sla_monitor.channels.webhook import WebhookChannel
from sla_monitor.delivery import DeliveryWorker, Outcome
from sla_monitor.main import create_app
from sla_monitor.settings import SlaMonitorSettings
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import (
    ADMIN,
    FAST_POLICIES,
    Receiver,
    assigned,
    consuming,
    migrated,
    monitor_settings,
    send,
)
from tests.support import eventually, serve

BAD_URLS = ["http://8.8.8.8\t/hook", "https://☃.net/"]


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    path = tmp_path / "policies.yaml"
    path.write_text(FAST_POLICIES)
    return path


async def _store_subscription(database_url: str, url: str) -> str:
    """Insert a subscription directly, as one stored before URLs were validated would be."""
    subscription_id = str(uuid.uuid4())
    engine = db.create_engine(database_url, schema="sla_monitor")
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(tables.subscriptions).values(
                id=subscription_id, url=url, events=["sla.breached"], filter={}, format="cloudevents",
                secret="whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", active=True, consecutive_failures=0,
                created_at=datetime.now(UTC)))
    finally:
        await engine.dispose()
    return subscription_id


async def _log(http: httpx.AsyncClient, subscription_id: str, *, state: str, count: int,
               timeout: float = 20.0) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        log = (await http.get(f"/v1/subscriptions/{subscription_id}/deliveries")).json()["deliveries"]
        matching = [d for d in log if d["state"] == state]
        return matching if len(matching) >= count else None

    return await eventually(probe, timeout=timeout, what=f"{count} {state} deliveries of {subscription_id}")


@asynccontextmanager
async def _monitor(settings: SlaMonitorSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
        await consuming(app)
        yield http


async def test_an_unsendable_subscription_url_fails_alone_and_the_others_get_each_event_exactly_once(
        databases: DatabaseFactory, kafka_bootstrap: str, policies: Path) -> None:
    database_url = await migrated(databases)
    bad_ids = [await _store_subscription(database_url, url) for url in BAD_URLS]
    receiver = Receiver()
    settings = monitor_settings(database_url, kafka_bootstrap, policies, webhook_timeout_seconds=1.0)
    async with serve(receiver.app()) as hook_base, _monitor(settings) as http:
        healthy = (await http.post("/v1/subscriptions", json={"url": hook_base + "/hook"})).json()
        for lead_id in ("bad-url-a", "bad-url-b"):
            await send(kafka_bootstrap, assigned(lead_id))
        delivered = await _log(http, healthy["id"], state="delivered", count=2)
        failed = [await _log(http, bad_id, state="failed", count=2) for bad_id in bad_ids]
    assert [d["attempts"] for d in delivered] == [1, 1]
    ids = [headers["webhook-id"] for headers, _ in receiver.deliveries]
    assert len(ids) == 2 and len(set(ids)) == 2  # each event once, none repeated
    for entries in failed:  # a URL that cannot be sent to never will be: failed at once, not retried
        assert all(e["attempts"] == 1 and "URL" in str(e["last_error"]) for e in entries)


@asynccontextmanager
async def _trickling_server(*, interval: float) -> AsyncIterator[tuple[str, list[float]]]:
    """A raw HTTP server that reads the request, then sends its status line one byte every ``interval``
    seconds: every read completes well within a per-read timeout, the answer never does."""
    handlers: set[asyncio.Task[Any]] = set()
    disconnected: list[float] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await reader.readuntil(b"\r\n\r\n")
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(interval)
        except (ConnectionError, asyncio.IncompleteReadError):
            disconnected.append(asyncio.get_running_loop().time())
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook", disconnected
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


async def test_a_receiver_that_trickles_its_answer_hits_the_total_deadline(
        databases: DatabaseFactory, kafka_bootstrap: str, policies: Path) -> None:
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies, webhook_timeout_seconds=1.0)
    async with _trickling_server(interval=0.05) as (hook_url, _), _monitor(settings) as http:
        created = (await http.post("/v1/subscriptions", json={"url": hook_url})).json()
        await send(kafka_bootstrap, assigned("trickled"))

        async def attempted() -> list[dict[str, Any]] | None:
            log = (await http.get(f"/v1/subscriptions/{created['id']}/deliveries")).json()["deliveries"]
            return [d for d in log if d["attempts"] >= 1] or None

        [entry] = await eventually(attempted, timeout=15, what="the first attempt to be recorded")
    assert entry["state"] == "pending" and entry["last_status"] is None  # retried later, like any failure
    assert "1s" in str(entry["last_error"]) and "deadline" in str(entry["last_error"])


class _Endless:
    """A receiver that accepts the webhook and then answers with a body that never ends."""

    def __init__(self) -> None:
        self.sent = 0
        self.stopped = False

    def app(self) -> Starlette:
        async def receive(request: Request) -> StreamingResponse:
            await request.body()
            return StreamingResponse(self._chunks(), status_code=200)

        return Starlette(routes=[Route("/hook", receive, methods=["POST"])])

    async def _chunks(self) -> AsyncIterator[bytes]:
        chunk = b"x" * 65536
        try:
            while True:
                self.sent += len(chunk)
                yield chunk
                await asyncio.sleep(0)
        finally:
            self.stopped = True


async def test_a_huge_answer_is_cut_off_after_a_few_kib(
        databases: DatabaseFactory, kafka_bootstrap: str, policies: Path) -> None:
    endless = _Endless()
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies, webhook_timeout_seconds=5.0)
    async with serve(endless.app()) as hook_base, _monitor(settings) as http:
        created = (await http.post("/v1/subscriptions", json={"url": hook_base + "/hook"})).json()
        await send(kafka_bootstrap, assigned("huge-answer"))
        [entry] = await _log(http, created["id"], state="delivered", count=1, timeout=15)

        async def stopped() -> bool:
            return endless.stopped

        await eventually(stopped, what="the receiver to see the client hang up")
    assert entry["attempts"] == 1 and entry["last_status"] == 200
    assert endless.sent < 64 * 2**20  # bounded by socket buffers, not by the (endless) body


class _OneUnrecordable(DeliveryWorker):
    """A delivery worker whose database refuses the outcome of one particular delivery."""

    poisoned_event: str = ""

    async def _record(self, session: Any, row: Row[Any], subscription: Row[Any] | None,
                      outcome: Outcome) -> None:
        if row.event_id == self.poisoned_event:
            raise RuntimeError("the database refused this row")
        await super()._record(session, row, subscription, outcome)

    async def _record_delivered(self, session: Any, delivered: list[tuple[Row[Any], Outcome]],
                                subs: dict[str, Row[Any]]) -> None:
        if any(row.event_id == self.poisoned_event for row, _ in delivered):
            raise RuntimeError("the database refused this row")
        await super()._record_delivered(session, delivered, subs)


async def test_a_delivery_whose_outcome_cannot_be_recorded_does_not_keep_the_others_unrecorded(
        databases: DatabaseFactory, kafka_bootstrap: str, policies: Path) -> None:
    receiver = Receiver()
    database_url = await migrated(databases)
    settings = monitor_settings(database_url, kafka_bootstrap, policies)
    engine = db.create_engine(database_url, schema="sla_monitor")
    session_factory = db.create_session_factory(engine)
    async with serve(receiver.app()) as hook_base, httpx.AsyncClient() as client:
        subscription_id = await _store_subscription(database_url, hook_base + "/hook")
        now = datetime.now(UTC)
        async with session_factory.begin() as session:
            await session.execute(insert(tables.deliveries), [{
                "subscription_id": subscription_id, "event_id": f"evt-{n}", "event_type": "sla.breached",
                "lead_id": f"lead-{n}", "payload": "{}", "state": "pending", "attempts": 0,
                "next_attempt_at": now, "created_at": now} for n in range(3)])
        webhook = WebhookChannel(settings=settings, clock=SystemClock(), http=client)
        worker = _OneUnrecordable(session_factory=session_factory, settings=settings, clock=SystemClock(),
                                  channels={"cloudevents": webhook})
        worker.poisoned_event = "evt-1"
        assert await worker.deliver_due() == 3
    async with session_factory() as session:
        rows = {r.event_id: r for r in (await session.execute(tables.deliveries.select())).all()}
    await engine.dispose()
    assert len(receiver.deliveries) == 3  # each sent once in this claim
    assert rows["evt-0"].state == rows["evt-2"].state == "delivered"
    assert rows["evt-1"].state == "pending" and rows["evt-1"].attempts == 0  # leased; sent again after the lease


async def test_a_hanging_subscriber_does_not_delay_the_next_deliveries_to_the_others(
        databases: DatabaseFactory, kafka_bootstrap: str, policies: Path) -> None:
    """A subscriber that takes seconds to answer holds up only its own deliveries: the next event reaches the
    others at once, not after the hanging request ends."""
    release = asyncio.Event()

    async def hang(request: Request) -> StreamingResponse:
        await request.body()
        await release.wait()
        return StreamingResponse(iter([b""]), status_code=204)

    receiver = Receiver()
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies, webhook_timeout_seconds=30.0)
    async with serve(Starlette(routes=[Route("/slow", hang, methods=["POST"])])) as slow_base, \
            serve(receiver.app()) as fast_base, _monitor(settings) as http:
        for url in (slow_base + "/slow", fast_base + "/hook"):
            answer = await http.post("/v1/subscriptions", json={"url": url, "events": ["lead.assigned"]})
            assert answer.status_code == 201, answer.text
        await send(kafka_bootstrap, assigned("hang-first"))

        async def first() -> bool:
            return len(receiver.deliveries) >= 1

        await eventually(first, what="the first assignment at the fast subscriber")
        await send(kafka_bootstrap, assigned("hang-second"))

        async def second() -> bool:
            return len(receiver.deliveries) >= 2

        await eventually(second, timeout=10, what="the second assignment while the slow subscriber still hangs")
        assert not release.is_set()  # the slow subscriber has not answered the first one yet
        release.set()
