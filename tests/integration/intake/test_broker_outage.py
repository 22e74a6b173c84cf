"""A 202 is never lost: leads accepted while the broker is away are published once it is back."""

from __future__ import annotations

import httpx

from devstack.broker import free_port, start_broker
from intake.main import create_app
from shared import topics
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import API_KEY, intake_settings, migrated
from tests.support import TopicReader, serve


async def test_leads_accepted_while_the_broker_is_down_are_published_when_it_returns(
        databases: DatabaseFactory) -> None:
    port = free_port()
    settings = intake_settings(await migrated(databases), f"127.0.0.1:{port}")
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": API_KEY}) as http:
        answer = await http.post("/v1/leads", json={"email": "outage@example.com", "source": "web_form"})
        assert answer.status_code == 202
        assert (await http.get("/readyz")).status_code == 503
        broker = start_broker(port)
        try:
            async with TopicReader(settings.kafka_bootstrap_servers, topics.LEADS_RECEIVED) as reader:
                events = await reader.wait_for(lambda e: e.subject == answer.json()["lead_id"], timeout=30)
            assert len(events) == 1
        finally:
            broker.terminate()
            broker.wait()
