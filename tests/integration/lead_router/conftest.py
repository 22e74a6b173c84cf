"""A router on a real database and a real broker, served over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from lead_router.main import create_app
from lead_router.settings import RouterSettings
from shared import topics
from shared.db import run_migrations
from shared.events import CloudEvent, LeadReceived
from tests.conftest import DatabaseFactory
from tests.support import publish, serve

ROOT = Path(__file__).resolve().parents[3]
ALEMBIC_INI = ROOT / "services" / "router" / "alembic.ini"
ADMIN = {"Authorization": "Bearer test-admin"}

DOCUMENT: dict[str, Any] = {
    "teams": [
        {"id": "na", "strategy": "round_robin", "reps": [{"id": "rep-a"}, {"id": "rep-b"}, {"id": "rep-c"}]},
        {"id": "desk", "strategy": "round_robin", "reps": [{"id": "rep-x"}, {"id": "rep-y"}]},
    ],
    "rules": [{"id": "us-demo", "priority": 10, "match": {"country": ["US"], "intent": ["demo_request"]},
               "team": "na", "urgency": "hot"}],
    "fallback": {"team": "desk", "urgency": "warm"},
}


@dataclass
class Router:
    http: httpx.AsyncClient
    settings: RouterSettings
    kafka: str


def router_settings(url: str, kafka: str, config_path: Path, **overrides: Any) -> RouterSettings:
    values = {"router_database_url": url, "kafka_bootstrap_servers": kafka, "admin_token": "test-admin",
              "kafka_session_timeout_ms": 2000, "outbox_poll_interval": 0.1,
              "routing_config_path": str(config_path), **overrides}
    return RouterSettings(**values)


async def migrated(databases: DatabaseFactory) -> str:
    url = databases.new("router")
    await asyncio.to_thread(run_migrations, ALEMBIC_INI, url)
    return url


def write_document(tmp_path: Path, document: dict[str, Any] | None = None) -> Path:
    import yaml

    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(document or DOCUMENT))
    return path


@pytest.fixture
async def router(databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Router]:
    settings = router_settings(await migrated(databases), kafka_bootstrap, write_document(tmp_path))
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
        yield Router(http=http, settings=settings, kafka=kafka_bootstrap)


def received(lead_id: str, **fields: Any) -> CloudEvent:
    data = LeadReceived(lead_id=lead_id, received_at=datetime.now(UTC), **{"source": "web_form", **fields})
    return CloudEvent.wrap(data, source="test/intake")


async def send_lead(kafka: str, lead_id: str, **fields: Any) -> CloudEvent:
    event = received(lead_id, **fields)
    await publish(kafka, topics.LEADS_RECEIVED, event)
    return event


def assignment_of(router: Router, lead_id: str) -> Callable[[], Any]:
    async def probe() -> dict[str, Any] | None:
        answer = await router.http.get(f"/v1/assignments/{lead_id}")
        return answer.json() if answer.status_code == 200 else None

    return probe
