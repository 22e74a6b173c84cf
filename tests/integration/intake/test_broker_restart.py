"""A memory-only broker that restarts empty loses nothing intake acknowledged: the outbox re-publishes it."""

from __future__ import annotations

import httpx

from devstack.broker import free_port, start_broker
from intake.main import create_app
from shared import topics
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import API_KEY, intake_settings, migrated
from tests.support import TopicReader, serve


async def test_events_published_before_the_broker_restarted_empty_are_published_again(
        databases: DatabaseFactory) -> None:
    port = free_port()
    broker = start_broker(port)
    settings = intake_settings(await migrated(databases), f"127.0.0.1:{port}", outbox_broker_check_seconds=0.3)
    try:
        async with serve(create_app(settings)) as base_url, httpx.AsyncClient(
                base_url=base_url, headers={"X-API-Key": API_KEY}) as http:
            answers = [await http.post("/v1/leads", json={"email": f"r{n}@example.com", "source": "web_form"})
                       for n in range(5)]
            ids = [a.json()["lead_id"] for a in answers]
            async with TopicReader(settings.kafka_bootstrap_servers, topics.LEADS_RECEIVED) as reader:
                before = await reader.wait_for(lambda e: e.subject in ids, count=5, timeout=30)

            broker.terminate()  # memory only: every event on it is gone
            broker.wait()
            broker = start_broker(port)

            async with TopicReader(settings.kafka_bootstrap_servers, topics.LEADS_RECEIVED) as reader:
                after = await reader.wait_for(lambda e: e.subject in ids, count=5, timeout=60)
            assert sorted(e.id for e in after) == sorted(e.id for e in before)  # the same events, once each
            later = await http.post("/v1/leads", json={"email": "later@example.com", "source": "web_form"})
            async with TopicReader(settings.kafka_bootstrap_servers, topics.LEADS_RECEIVED) as reader:
                await reader.wait_for(lambda e: e.subject == later.json()["lead_id"], timeout=30)
                await reader.poll()
                assert sorted(e.subject for e in reader.events if e.subject in ids) == sorted(ids)  # not again
    finally:
        broker.terminate()
        broker.wait()
