"""Reps' Slack member ids and CRM user ids: refused by path when malformed, and carried on ``lead.assigned``
(first assignment and reassignment alike) through the real broker."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from shared import topics
from shared.events import CloudEvent, LeadAssigned, ReassignmentRequested, parse_data
from tests.integration.lead_router.conftest import DOCUMENT, Router, assignment_of, send_lead
from tests.support import TopicReader, eventually, publish

CRM = {"hubspot_owner_id": "41629779", "salesforce_user_id": "005Dn000003xYzAIAU", "pipedrive_user_id": "8812",
       "close_user_id": "user_04EJPREurd0b3KDozVFqXSRbt2uBjw3Q"}


def _with_contacts() -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    document["teams"][0]["reps"] = [
        {"id": "rep-a", "name": "Ana Ruiz", "email": "ana@example.com", "slack_user_id": "U024BE7LH", "crm": CRM},
        {"id": "rep-b", "name": "Ben Ode", "slack_user_id": "W012A3CDE", "crm": {"hubspot_owner_id": 5150}},
    ]
    return document


async def test_malformed_rep_contact_details_are_refused_by_path_and_nothing_changes(router: Router) -> None:
    broken = _with_contacts()
    broken["teams"][0]["reps"][0]["slack_user_id"] = "<!channel>"
    broken["teams"][0]["reps"][1]["crm"] = {"salesforce_user_id": "005Dn0000", "zoho_user_id": "7"}
    broken["teams"][1]["reps"][0]["slack"] = "U024BE7LH"
    answer = await router.http.put("/v1/routing/config", content=yaml.safe_dump(broken),
                                   headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 422
    errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert set(errors) == {"teams[0].reps[0].slack_user_id", "teams[0].reps[1].crm.salesforce_user_id",
                           "teams[0].reps[1].crm.zoho_user_id", "teams[1].reps[0].slack"}
    assert "Slack member id" in errors["teams[0].reps[0].slack_user_id"]
    assert "<!channel>" not in answer.text  # the message names the shape, it does not echo the input
    assert (await router.http.get("/v1/routing/config")).json()["version"] == 1


async def test_a_routed_lead_and_its_reassignment_carry_the_reps_slack_and_crm_ids(router: Router) -> None:
    answer = await router.http.put("/v1/routing/config", json=_with_contacts())
    assert answer.status_code == 200, answer.text
    stored = (await router.http.get("/v1/routing/config")).json()
    assert stored["document"]["teams"][0]["reps"][0]["slack_user_id"] == "U024BE7LH"
    await send_lead(router.kafka, "lead-rep", country="US", intent="demo_request", email="lead@example.org",
                    phone="+15550100", first_name="Lia", company="Fintastic")
    await eventually(assignment_of(router, "lead-rep"), what="the assignment")
    async with TopicReader(router.kafka, topics.LEADS_ASSIGNED) as reader:
        [event] = await reader.wait_for(lambda e: e.subject == "lead-rep")
        data = parse_data(event)
        assert isinstance(data, LeadAssigned) and data.rep_id == "rep-a" and data.rep is not None
        assert data.rep.name == "Ana Ruiz" and data.rep.slack_user_id == "U024BE7LH"
        assert data.rep.crm.model_dump() == CRM
        # the rep's work email (assignment emails) and the lead's contact (CRM write-backs) travel with it
        assert data.rep.email == "ana@example.com"
        assert data.contact is not None and data.contact.email == "lead@example.org"
        assert data.contact.phone == "+15550100" and data.contact.country == "US"

        request = ReassignmentRequested(lead_id="lead-rep", clock_id="c1", team="na", current_rep_id="rep-a",
                                        level=2, reason="untouched at escalation level 2")
        await publish(router.kafka, topics.SLA_ALERTS, CloudEvent.wrap(request, source="test/sla-monitor"))
        [_, again] = await reader.wait_for(lambda e: e.subject == "lead-rep", count=2)
    moved = parse_data(again)
    assert isinstance(moved, LeadAssigned) and moved.reason == "reassigned" and moved.rep_id == "rep-b"
    assert moved.rep is not None and moved.rep.slack_user_id == "W012A3CDE"
    assert moved.rep.crm.hubspot_owner_id == "5150" and moved.rep.crm.salesforce_user_id is None


async def test_a_rep_without_contact_details_gives_an_event_without_them(router: Router) -> None:
    await send_lead(router.kafka, "lead-plain", country="US", intent="demo_request")
    async with TopicReader(router.kafka, topics.LEADS_ASSIGNED) as reader:
        [event] = await reader.wait_for(lambda e: e.subject == "lead-plain")
    data = parse_data(event)
    assert isinstance(data, LeadAssigned) and data.rep is not None
    assert data.rep.slack_user_id is None and data.rep.crm.hubspot_owner_id is None
