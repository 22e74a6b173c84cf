"""HubSpot write-back through the SLA monitor: real broker, real database, a local HubSpot over HTTP.

Every assignment is written once in effect — through a 429 and a 5xx on the first tries — the contact id HubSpot
answers is published as ``lead.linked``, and each write-back's state is visible per lead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.fake_hubspot import FakeHubSpot
from shared import topics
from shared.events import AssignedRep, CloudEvent, LeadAssigned, LeadContact, LeadSummary, RepCrmIds
from sla_monitor.main import create_app
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import ADMIN, FAST_POLICIES, consuming, migrated, monitor_settings, send
from tests.support import TopicReader, eventually, serve


@dataclass
class WriteBack:
    http: httpx.AsyncClient
    hubspot: FakeHubSpot
    kafka: str


@pytest.fixture
async def write_back(databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[WriteBack]:
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    fake = FakeHubSpot(token="pat-test")
    async with serve(fake.app()) as hubspot_url:
        settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies,
                                    hubspot_access_token="pat-test", hubspot_api_url=hubspot_url,
                                    delivery_first_retry_seconds=0.2)
        app = create_app(settings)
        async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
            await consuming(app)
            yield WriteBack(http=http, hubspot=fake, kafka=kafka_bootstrap)


def assigned(lead_id: str, *, email: str | None, owner: str = "41629779", reason: str = "initial") -> CloudEvent:
    data = LeadAssigned(lead_id=lead_id, team="na", rep_id="rep-a", urgency="hot", rule_id="r1",  # type: ignore[arg-type]
                        explanation=["test"], assigned_at=datetime.now(UTC), reason=reason,  # type: ignore[arg-type]
                        lead=LeadSummary(first_name="Ana", last_name="Ruiz", company="Fintastic", source="web_form"),
                        contact=LeadContact(email=email, phone="+15550100"),
                        rep=AssignedRep(name="Rep A", crm=RepCrmIds(hubspot_owner_id=owner)))
    return CloudEvent.wrap(data, source="test/router")


def deliveries_of(http: httpx.AsyncClient, lead_id: str, *, state: str, count: int = 1) -> Any:
    async def probe() -> list[dict[str, Any]] | None:
        answer = await http.get(f"/v1/leads/{lead_id}/deliveries")
        assert answer.status_code == 200, answer.text
        matching = [d for d in answer.json()["deliveries"] if d["channel"] == "hubspot" and d["state"] == state]
        return matching if len(matching) >= count else None

    return probe


async def test_each_assignment_sets_the_owner_once_through_a_rate_limit_and_a_server_error(
        write_back: WriteBack) -> None:
    hubspot = write_back.hubspot
    hubspot.fail_next = [429, 503]
    leads = {f"lead-hs-{n}": f"buyer{n}@example.org" for n in range(3)}
    async with TopicReader(write_back.kafka, topics.LEADS_ACTIVITY) as reader:
        for lead_id, email in leads.items():
            await send(write_back.kafka, assigned(lead_id, email=email))
        linked = await reader.wait_for(lambda e: e.type == "lead.linked", count=3, timeout=30)
    for lead_id, email in leads.items():
        [delivery] = await eventually(deliveries_of(write_back.http, lead_id, state="delivered"),
                                      what=f"the write-back of {lead_id}")
        contact = hubspot.by_email(email)
        assert contact is not None and contact["properties"]["hubspot_owner_id"] == "41629779"
        assert contact["properties"]["firstname"] == "Ana" and contact["properties"]["phone"] == "+15550100"
        assert delivery["external_id"] == contact["id"] and delivery["last_error"] is None
        [event] = [e for e in linked if e.subject == lead_id]
        assert event.data["crm"] == "hubspot" and event.data["external_id"] == contact["id"]
    assert len(hubspot.contacts) == 3  # once in effect: one contact per lead, whatever was retried
    written = [i["id"] for request in hubspot.requests for i in request]
    assert sorted(written) == sorted(leads.values())  # the failed tries never reached HubSpot's data
    targets = (await write_back.http.get("/v1/subscriptions")).json()["subscriptions"]
    [builtin] = [t for t in targets if t["id"] == "builtin-hubspot"]
    assert builtin["format"] == "hubspot" and builtin["active"] and builtin["consecutive_failures"] == 0


async def test_a_reassignment_moves_the_same_contact_to_the_new_owner(write_back: WriteBack) -> None:
    await send(write_back.kafka, assigned("lead-move", email="mover@example.org", owner="111"))
    await eventually(deliveries_of(write_back.http, "lead-move", state="delivered"), what="the first write-back")
    await send(write_back.kafka, assigned("lead-move", email="mover@example.org", owner="222", reason="reassigned"))
    both = await eventually(deliveries_of(write_back.http, "lead-move", state="delivered", count=2),
                            what="the reassignment's write-back")
    assert both[0]["external_id"] == both[1]["external_id"]
    assert len(write_back.hubspot.contacts) == 1
    assert write_back.hubspot.by_email("mover@example.org")["properties"]["hubspot_owner_id"] == "222"  # type: ignore[index]


async def test_a_lead_without_email_shows_why_it_was_not_written(write_back: WriteBack) -> None:
    await send(write_back.kafka, assigned("lead-phone-only", email=None))
    [failed] = await eventually(deliveries_of(write_back.http, "lead-phone-only", state="failed"),
                                what="the refused write-back")
    assert "no email address" in failed["last_error"] and failed["attempts"] == 0
    assert not write_back.hubspot.requests


async def test_a_write_back_held_up_by_an_outage_never_undoes_the_reassignment_after_it(
        write_back: WriteBack) -> None:
    hubspot = write_back.hubspot
    hubspot.fail_next = [503, 503]  # HubSpot is down when the lead is assigned, and reassigned
    await send(write_back.kafka, assigned("lead-out", email="outage@example.org", owner="111"))
    await send(write_back.kafka, assigned("lead-out", email="outage@example.org", owner="222", reason="reassigned"))

    async def settled() -> list[dict[str, Any]] | None:
        log = (await write_back.http.get("/v1/leads/lead-out/deliveries")).json()["deliveries"]
        states = [d["state"] for d in log if d["channel"] == "hubspot"]
        return log if states == ["superseded", "delivered"] else None

    log = await eventually(settled, timeout=30, what="the older write-back superseded, the newer delivered")
    assert log[0]["last_error"] == "a later assignment's delivery replaces it"
    assert hubspot.by_email("outage@example.org")["properties"]["hubspot_owner_id"] == "222"  # type: ignore[index]
    owners = [i["properties"]["hubspot_owner_id"] for request in hubspot.requests for i in request]
    assert owners == ["222"]  # the superseded owner never reached HubSpot, before or after
