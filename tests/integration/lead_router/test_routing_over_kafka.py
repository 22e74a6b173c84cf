"""The router consumes ``lead.received`` from the real broker and publishes ``lead.assigned``."""

from __future__ import annotations

from shared import topics
from shared.events import LeadAssigned, parse_data
from tests.integration.lead_router.conftest import Router, assignment_of, send_lead
from tests.support import TopicReader, eventually, publish


async def test_a_received_lead_is_assigned_with_its_explanation_and_published(router: Router) -> None:
    await send_lead(router.kafka, "lead-1", country="US", intent="demo_request", first_name="Ana",
                    company="Fintastic", campaign="q4")
    body = await eventually(assignment_of(router, "lead-1"), what="the assignment")
    current = body["current"]
    assert (current["team"], current["rep_id"], current["urgency"], current["rule_id"]) == \
        ("na", "rep-a", "hot", "us-demo")
    assert current["reason"] == "initial" and current["config_version"] == 1
    assert any("country US is in [US]" in line for line in current["explanation"])

    async with TopicReader(router.kafka, topics.LEADS_ASSIGNED) as reader:
        [event] = await reader.wait_for(lambda e: e.subject == "lead-1")
    data = parse_data(event)
    assert isinstance(data, LeadAssigned)
    assert data.rep_id == "rep-a" and data.lead.company == "Fintastic" and data.lead.campaign == "q4"


async def test_the_same_event_twice_and_the_same_lead_twice_make_one_assignment(router: Router) -> None:
    event = await send_lead(router.kafka, "lead-dup", country="US", intent="demo_request")
    await publish(router.kafka, topics.LEADS_RECEIVED, event)
    await send_lead(router.kafka, "lead-dup", country="US", intent="demo_request")
    await send_lead(router.kafka, "lead-next", country="US", intent="demo_request")
    await eventually(assignment_of(router, "lead-next"), what="the next lead's assignment")
    body = await eventually(assignment_of(router, "lead-dup"), what="the assignment")
    assert len(body["history"]) == 1
    async with TopicReader(router.kafka, topics.LEADS_ASSIGNED) as reader:
        await reader.wait_for(lambda e: e.subject == "lead-next")
        assigned = [e for e in await reader.poll() if e.subject == "lead-dup"]
    assert len(assigned) == 1
    # and round robin moved on by exactly one: the two leads went to the first two reps
    nxt = await eventually(assignment_of(router, "lead-next"))
    assert {nxt["current"]["rep_id"], body["current"]["rep_id"]} == {"rep-a", "rep-b"}


async def test_round_robin_spreads_leads_evenly_inside_the_team(router: Router) -> None:
    for i in range(7):
        await send_lead(router.kafka, f"rr-{i}", country="US", intent="demo_request")
    reps = []
    for i in range(7):
        body = await eventually(assignment_of(router, f"rr-{i}"))
        reps.append(body["current"]["rep_id"])
    # Leads on different partitions arrive in any order, but the spread is even: 3, 2, 2.
    assert sorted(reps.count(rep) for rep in ("rep-a", "rep-b", "rep-c")) == [2, 2, 3]


async def test_a_lead_that_matches_no_rule_goes_to_the_fallback(router: Router) -> None:
    await send_lead(router.kafka, "lead-fr", country="FR", intent="content_download")
    current = (await eventually(assignment_of(router, "lead-fr")))["current"]
    assert (current["team"], current["urgency"], current["rule_id"]) == ("desk", "warm", None)
    assert "no rule matched" in current["explanation"][-2]
