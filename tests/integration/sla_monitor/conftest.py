"""An SLA monitor on a real database and a real broker, with a local webhook receiver, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared import topics
from shared.db import run_migrations
from shared.events import ActivityRecorded, CloudEvent, LeadAssigned, LeadSummary
from sla_monitor.main import create_app
from sla_monitor.settings import SlaMonitorSettings
from tests.conftest import DatabaseFactory
from tests.support import eventually, publish, serve

ALEMBIC_INI = Path(__file__).resolve().parents[3] / "services" / "sla-monitor" / "alembic.ini"
ADMIN = {"Authorization": "Bearer test-admin"}
FAST_POLICIES = """policies:
  hot:  {first_response: 1s}
  warm: {first_response: 24h, warn_before: 2h}
  cold: {first_response: 72h}
"""


@dataclass
class Receiver:
    """A webhook endpoint that records deliveries and answers with ``status``."""

    status: int = 204
    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            self.deliveries.append((dict(request.headers), await request.body()))
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/hook", receive, methods=["POST"])])


@dataclass
class Monitor:
    http: httpx.AsyncClient
    settings: SlaMonitorSettings
    kafka: str
    receiver: Receiver
    hook_url: str


def monitor_settings(url: str, kafka: str, policies: Path, **overrides: Any) -> SlaMonitorSettings:
    values = {"sla_monitor_database_url": url, "kafka_bootstrap_servers": kafka, "admin_token": "test-admin",
              "kafka_session_timeout_ms": 2000, "outbox_poll_interval": 0.1, "sla_policies_path": str(policies),
              "allow_private_webhook_targets": True, "delivery_first_retry_seconds": 0.2, **overrides}
    return SlaMonitorSettings(**values)


async def migrated(databases: DatabaseFactory) -> str:
    url = databases.new("sla-monitor")
    await asyncio.to_thread(run_migrations, ALEMBIC_INI, url)
    return url


@pytest.fixture
async def monitor(databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Monitor]:
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies)
    receiver = Receiver()
    app = create_app(settings)
    async with serve(receiver.app()) as hook_base, serve(app) as base_url, \
            httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
        await consuming(app)
        yield Monitor(http=http, settings=settings, kafka=kafka_bootstrap, receiver=receiver,
                      hook_url=hook_base + "/hook")


async def consuming(app: Any) -> None:
    """Wait until the app's consumer joined its group, so events sent now are handled at once."""
    async def joined() -> frozenset[int] | None:
        return app.state.consumer.assigned_partitions or None

    await eventually(joined, what="the consumer to join its group")


def assigned(lead_id: str, *, urgency: str = "hot", rep_id: str = "rep-a", reason: str = "initial",
             at: datetime | None = None) -> CloudEvent:
    data = LeadAssigned(lead_id=lead_id, team="na", rep_id=rep_id, urgency=urgency, rule_id="r1",  # type: ignore[arg-type]
                        explanation=["test"], assigned_at=at or datetime.now(UTC), reason=reason,  # type: ignore[arg-type]
                        lead=LeadSummary(first_name="Ana", last_name="Ruiz", company="Fintastic",
                                         source="web_form", campaign="q4"))
    return CloudEvent.wrap(data, source="test/router")


def activity(lead_id: str, activity_id: str, *, at: datetime | None = None, kind: str = "call",
             direction: str | None = "outbound", status: str | None = None) -> CloudEvent:
    now = datetime.now(UTC)
    data = ActivityRecorded(lead_id=lead_id, activity_id=activity_id, type=kind, direction=direction,  # type: ignore[arg-type]
                            rep_id="rep-a", occurred_at=at or now, status=status,
                            received_at=max(now, at or now))  # reported no earlier than it happened
    return CloudEvent.wrap(data, source="test/intake")


async def send(kafka: str, event: CloudEvent) -> None:
    topic = topics.LEADS_ASSIGNED if event.type == "lead.assigned" else topics.LEADS_ACTIVITY
    await publish(kafka, topic, event)


def clocks_of(monitor: Monitor, lead_id: str, *, state: str | None = None) -> Callable[[], Any]:
    async def probe() -> list[dict[str, Any]] | None:
        answer = await monitor.http.get(f"/v1/sla/clocks/{lead_id}")
        if answer.status_code != 200:
            return None
        clocks = answer.json()["clocks"]
        return clocks if state is None or any(c["state"] == state for c in clocks) else None

    return probe
