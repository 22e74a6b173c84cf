"""Salesforce write-back through the real SLA monitor, broker and database, against a local Salesforce: each
assignment makes the rep the owner of exactly one Lead — through a 503, a lost create answer and an expired token —
the Lead's id is published as ``lead.linked``, and the lead's delivery log shows it; a refused Lead fails alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared import topics
from shared.events import AssignedRep, CloudEvent, LeadAssigned, LeadContact, LeadSummary
from sla_monitor.main import create_app
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import ADMIN, FAST_POLICIES, consuming, migrated, monitor_settings, send
from tests.integration.sla_monitor.salesforce_fake import CLIENT_ID, CLIENT_SECRET, OWNER_A, OWNER_B, SalesforceFake
from tests.support import TopicReader, eventually, serve


@dataclass
class Stack:
    http: httpx.AsyncClient
    kafka: str
    salesforce: SalesforceFake


@pytest.fixture
async def stack(databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Stack]:
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    fake = SalesforceFake()
    async with serve(fake.app()) as salesforce_url:
        settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies,
                                    salesforce_instance_url=salesforce_url, salesforce_client_id=CLIENT_ID,
                                    salesforce_client_secret=CLIENT_SECRET, crm_timeout_seconds=5)
        app = create_app(settings)
        async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
            await consuming(app)
            yield Stack(http, kafka_bootstrap, fake)


def _assigned(lead_id: str, *, owner: str | None = OWNER_A, email: str | None = None,
              known: str | None = None, reason: str = "initial") -> CloudEvent:
    data = LeadAssigned(lead_id=lead_id, team="na", rep_id="rep-a", urgency="warm", rule_id="r1",  # type: ignore[arg-type]
                        explanation=["test"], assigned_at=datetime.now(UTC), reason=reason,  # type: ignore[arg-type]
                        lead=LeadSummary(first_name="Ana", last_name="Ruiz", company="Fintastic", source="web_form"),
                        rep=AssignedRep(name="Rep A", crm={"salesforce_user_id": owner}),  # type: ignore[arg-type]
                        contact=LeadContact(email=email or f"{lead_id}@example.org", country="US",
                                            external_ids={"salesforce": known} if known else {}))
    return CloudEvent.wrap(data, source="test/router")


async def _settled(stack: Stack, lead_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        answer = await stack.http.get(f"/v1/leads/{lead_id}/deliveries")
        entries = [d for d in answer.json()["deliveries"] if d.get("channel") == "salesforce"]
        return entries[0] if entries and entries[0]["state"] != "pending" else None

    return await eventually(probe, what=f"{lead_id}'s Salesforce write-back to settle")


async def test_one_lead_is_created_with_the_reps_owner_id_through_a_503_and_a_lost_create_answer(
        stack: Stack) -> None:
    stack.salesforce.fail_next("query", 503)
    stack.salesforce.lose_creates = 1
    async with TopicReader(stack.kafka, topics.LEADS_ACTIVITY) as reader:
        await send(stack.kafka, _assigned("sf-new"))
        entry = await _settled(stack, "sf-new")
        [linked] = await reader.wait_for(lambda e: e.type == "lead.linked" and e.subject == "sf-new")
    [(lead_id, lead)] = stack.salesforce.leads.items()
    assert lead["OwnerId"] == OWNER_A and lead["Email"] == "sf-new@example.org" and lead["LastName"] == "Ruiz"
    assert stack.salesforce.count("create") == 1 and stack.salesforce.count("update", 204) == 1
    assert entry["channel"] == "salesforce" and entry["subscription_id"] == "builtin-salesforce"
    assert (entry["state"], entry["external_id"], entry["attempts"]) == ("delivered", lead_id, 3)
    assert linked.data["crm"] == "salesforce" and linked.data["external_id"] == lead_id


async def test_a_known_lead_is_updated_not_created_and_a_401_gets_one_fresh_token(stack: Stack) -> None:
    first = stack.salesforce.new_lead(LastName="Ruiz", Company="Fintastic", OwnerId=OWNER_B)
    second = stack.salesforce.new_lead(LastName="Diaz", Company="Acme", OwnerId=OWNER_B)
    await send(stack.kafka, _assigned("sf-known-1", known=first))
    assert (await _settled(stack, "sf-known-1"))["state"] == "delivered"
    stack.salesforce.expire_tokens()
    await send(stack.kafka, _assigned("sf-known-2", known=second))
    entry = await _settled(stack, "sf-known-2")
    assert (entry["state"], entry["external_id"], entry["attempts"]) == ("delivered", second, 1)
    assert stack.salesforce.leads[first]["OwnerId"] == stack.salesforce.leads[second]["OwnerId"] == OWNER_A
    assert len(stack.salesforce.leads) == 2
    assert stack.salesforce.count("create") == 0 and stack.salesforce.count("query") == 0
    assert stack.salesforce.count("token") == 2 and stack.salesforce.count("update", 401) == 1


async def test_a_refused_lead_fails_alone_while_the_others_of_its_batch_are_delivered(stack: Stack) -> None:
    stack.salesforce.refused_emails.add("refused@example.org")
    stack.salesforce.hold()  # the worker waits on a first write-back while the next three are queued together
    await send(stack.kafka, _assigned("sf-first"))

    async def holding() -> bool:
        return stack.salesforce.waiting > 0

    await eventually(holding, what="the first write-back to reach Salesforce")
    for lead_id, email in (("sf-ok-1", None), ("sf-refused", "refused@example.org"), ("sf-ok-2", None)):
        await send(stack.kafka, _assigned(lead_id, email=email))
    for lead_id in ("sf-ok-1", "sf-refused", "sf-ok-2"):
        async def queued(lead_id: str = lead_id) -> bool:
            return bool((await stack.http.get(f"/v1/leads/{lead_id}/deliveries")).json()["deliveries"])

        await eventually(queued, what=f"{lead_id}'s write-back to be queued")
    stack.salesforce.release()
    refused = await _settled(stack, "sf-refused")
    assert (refused["state"], refused["attempts"], refused["last_status"]) == ("failed", 1, 400)
    assert refused["last_error"] == "Salesforce refused the Lead (400 INVALID_EMAIL_ADDRESS)"
    for lead_id in ("sf-first", "sf-ok-1", "sf-ok-2"):
        entry = await _settled(stack, lead_id)
        assert entry["state"] == "delivered" and entry["external_id"] in stack.salesforce.leads
    assert sorted(lead["Email"] for lead in stack.salesforce.leads.values()) == [
        "sf-first@example.org", "sf-ok-1@example.org", "sf-ok-2@example.org"]


async def test_a_rep_without_a_salesforce_user_id_shows_why_in_the_leads_delivery_log(stack: Stack) -> None:
    await send(stack.kafka, _assigned("sf-ownerless", owner=None))
    entry = await _settled(stack, "sf-ownerless")
    assert entry["state"] == "failed" and "crm.salesforce_user_id" in entry["last_error"]
    assert stack.salesforce.log == []


async def test_a_write_back_held_up_by_an_outage_never_undoes_the_reassignment_after_it(stack: Stack) -> None:
    stack.salesforce.fail_next("query", 503)  # Salesforce is down when the lead is assigned, and reassigned
    stack.salesforce.fail_next("query", 503)
    await send(stack.kafka, _assigned("sf-moved"))
    await send(stack.kafka, _assigned("sf-moved", owner=OWNER_B, reason="reassigned"))

    async def settled() -> list[dict[str, Any]] | None:
        log = (await stack.http.get("/v1/leads/sf-moved/deliveries")).json()["deliveries"]
        return log if [d["state"] for d in log] == ["superseded", "delivered"] else None

    log = await eventually(settled, what="the older write-back superseded, the newer delivered")
    [(lead_id, lead)] = stack.salesforce.leads.items()
    assert log[1]["external_id"] == lead_id and lead["OwnerId"] == OWNER_B
    assert stack.salesforce.owners == [OWNER_B]  # the superseded owner never reached Salesforce
