"""A 202 is never lost, and intake stays ready while the broker is away: ready means it can accept and store."""

from __future__ import annotations

import os
import signal
import time

import httpx
from sqlalchemy import select

from devstack.broker import free_port, start_broker
from intake.main import create_app
from intake.settings import IntakeSettings
from intake.tables import outbox
from shared import topics
from shared.db import create_engine
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import API_KEY, intake_settings, migrated
from tests.support import TopicReader, eventually, serve


async def test_leads_accepted_while_the_broker_is_down_are_published_when_it_returns(
        databases: DatabaseFactory) -> None:
    port = free_port()
    settings = intake_settings(await migrated(databases), f"127.0.0.1:{port}")
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": API_KEY}) as http:
        answer = await http.post("/v1/leads", json={"email": "outage@example.com", "source": "web_form"})
        assert answer.status_code == 202
        ready = await http.get("/readyz")
        assert ready.status_code == 200  # it can accept and store: the outbox holds the events meanwhile
        assert ready.json()["checks"]["database"] == "ok"
        assert ready.json()["checks"]["broker"].startswith("degraded")
        broker = start_broker(port)
        try:
            async with TopicReader(settings.kafka_bootstrap_servers, topics.LEADS_RECEIVED) as reader:
                events = await reader.wait_for(lambda e: e.subject == answer.json()["lead_id"], timeout=30)
            assert len(events) == 1
        finally:
            broker.terminate()
            broker.wait()


async def test_a_broker_that_stops_answering_neither_blocks_requests_nor_loses_their_events(
        databases: DatabaseFactory) -> None:
    port = free_port()
    broker = start_broker(port)
    settings = intake_settings(await migrated(databases), f"127.0.0.1:{port}")
    try:
        async with serve(create_app(settings)) as base_url, httpx.AsyncClient(
                base_url=base_url, headers={"X-API-Key": API_KEY}, timeout=60) as http, \
                TopicReader(settings.kafka_bootstrap_servers, topics.LEADS_RECEIVED) as reader:
            first = await http.post("/v1/leads", json={"email": "before@example.com", "source": "web_form"})
            await reader.wait_for(lambda e: e.subject == first.json()["lead_id"], timeout=30)

            os.kill(broker.pid, signal.SIGSTOP)  # connections stay open, nothing answers: the relay waits
            try:
                frozen = await http.post("/v1/leads", json={"email": "frozen@example.com", "source": "web_form"})
                assert frozen.status_code == 202

                await eventually(lambda: _claimed(settings, frozen.json()["lead_id"]),
                                 what="the relay to claim the lead's event and wait on the broker")
                started = time.monotonic()
                during = [await http.post("/v1/leads", json={"phone": f"+1415555{n:04d}", "source": "web_form"})
                          for n in range(3)]
                elapsed = time.monotonic() - started
                assert [a.status_code for a in during] == [202, 202, 202]
                assert elapsed < 3.0, f"requests waited {elapsed:.1f}s for a database connection"
                ready = await http.get("/readyz")
                assert ready.status_code == 200
                assert ready.json()["checks"]["broker"].startswith("degraded")
            finally:
                os.kill(broker.pid, signal.SIGCONT)
            ids = {a.json()["lead_id"] for a in [frozen, *during]}
            events = await reader.wait_for(lambda e: e.subject in ids, count=len(ids), timeout=60)
            assert {e.subject for e in events} == ids
    finally:
        broker.terminate()
        broker.wait()


async def _claimed(settings: IntakeSettings, lead_id: str) -> bool:
    engine = create_engine(settings.intake_database_url, schema=settings.intake_database_schema)
    try:
        async with engine.connect() as conn:
            claimed = (await conn.execute(select(outbox.c.claimed_until).where(
                outbox.c.key == lead_id, outbox.c.published_at.is_(None)))).scalar_one_or_none()
        return claimed is not None
    finally:
        await engine.dispose()
