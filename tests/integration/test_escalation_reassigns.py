"""Router and SLA monitor together on one broker: an untouched hot lead breaches, escalates to level 2, the
router reassigns it to another rep, and a new clock starts for the new rep."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from lead_router.main import create_app as create_router
from shared import topics
from sla_monitor.main import create_app as create_monitor
from tests.conftest import DatabaseFactory
from tests.integration.lead_router.conftest import ADMIN, router_settings, send_lead, write_document
from tests.integration.lead_router.conftest import migrated as migrated_router
from tests.integration.sla_monitor.conftest import consuming, monitor_settings
from tests.integration.sla_monitor.conftest import migrated as migrated_monitor
from tests.support import TopicReader, eventually, serve

ESCALATING = """policies:
  hot:
    first_response: 1s
    escalation: [{after: 1s, reassign: true}]
  warm: {first_response: 24h}
  cold: {first_response: 72h}
"""


async def test_an_escalated_lead_is_reassigned_to_another_rep_with_a_new_clock(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    policies = tmp_path / "policies.yaml"
    policies.write_text(ESCALATING)
    router_app = create_router(router_settings(await migrated_router(databases), kafka_bootstrap,
                                               write_document(tmp_path)))
    monitor_app = create_monitor(monitor_settings(await migrated_monitor(databases), kafka_bootstrap, policies))
    async with serve(router_app) as router_url, serve(monitor_app) as monitor_url, \
            httpx.AsyncClient(headers=ADMIN) as http:
        await consuming(monitor_app)
        await consuming(router_app)
        await send_lead(kafka_bootstrap, "escalated", country="US", intent="demo_request")

        async def reassigned() -> dict[str, Any] | None:
            answer = await http.get(f"{router_url}/v1/assignments/escalated")
            body = answer.json() if answer.status_code == 200 else None
            return body if body and body["current"]["reason"] == "reassigned" else None

        body = await eventually(reassigned, timeout=30, what="the reassignment")
        first, second = body["history"]
        assert first["state"] == "superseded" and first["rep_id"] == "rep-a"
        assert second["rep_id"] == "rep-b" and second["reason"] == "reassigned"
        assert second["explanation"][0].startswith("reassigned from rep-a")

        async def two_clocks() -> list[dict[str, Any]] | None:
            answer = await http.get(f"{monitor_url}/v1/sla/clocks/escalated")
            clocks = answer.json().get("clocks", []) if answer.status_code == 200 else []
            return clocks if len(clocks) >= 2 else None

        old, new = (await eventually(two_clocks, what="the new rep's clock"))[:2]
        assert old["rep_id"] == "rep-a" and old["state"] == "breached" and old["escalation_level"] == 2
        assert old["cancelled_at"] is not None
        assert new["rep_id"] == "rep-b"

        async with TopicReader(kafka_bootstrap, topics.SLA_ALERTS) as reader:
            levels = await reader.wait_for(lambda e: e.type == "sla.breached" and e.subject == "escalated"
                                           and e.data["rep_id"] == "rep-a", count=2)
            requests = [e for e in reader.events if e.type == "lead.reassignment_requested"]
        assert sorted(e.data["level"] for e in levels) == [1, 2]
        assert len(requests) == 1 and requests[0].data["current_rep_id"] == "rep-a"
        assert datetime.fromisoformat(new["started_at"]) <= datetime.now(UTC)
