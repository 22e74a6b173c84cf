"""Close webhooks over real HTTP on a real database: signed as Close documents (computed here), recorded for
the lead whose ``external_ids.close`` is the Close lead; forged, stale and repeated ones have no effect."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from intake import tables
from shared import topics
from shared.events import ActivityRecorded, parse_data
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import Intake, count_rows
from tests.integration.intake.crm_support import (
    CLOSE_KEY,
    new_lead,
    recorded_events,
    running_crm_intake,
)
from tests.support import TopicReader
from tests.unit.intake.crm_examples import CLOSE_LEAD_ID, close_event, close_signed

PATH = "/v1/integrations/close"


@pytest.fixture
async def crm_intake(databases: DatabaseFactory, kafka_bootstrap: str) -> AsyncIterator[Intake]:
    async with running_crm_intake(databases, kafka_bootstrap) as running:
        yield running


async def test_a_documented_call_event_is_recorded_once_for_the_close_lead(crm_intake: Intake) -> None:
    lead_id = await new_lead(crm_intake, "ana@example.com", close=CLOSE_LEAD_ID)
    first = await crm_intake.http.post(PATH, **close_signed(CLOSE_KEY, close_event()))
    assert first.status_code == 200, first.text
    assert first.json()["activities"] == [{"activity_id": "close:ev_2sYKRjcrA79yKxi3S4Crd7", "lead_id": lead_id,
                                           "status": "accepted"}]
    [event] = await recorded_events(crm_intake)
    assert event["subject"] == lead_id == event["data"]["lead_id"]
    assert (event["data"]["type"], event["data"]["direction"], event["data"]["outcome"]) == (
        "call", "outbound", "vm-left")
    async with TopicReader(crm_intake.kafka, topics.LEADS_ACTIVITY) as reader:
        [published] = await reader.wait_for(lambda e: e.subject == lead_id and e.type == "activity.recorded")
    data = parse_data(published)
    assert isinstance(data, ActivityRecorded) and data.is_outbound_touch and data.lead_id == lead_id
    again = await crm_intake.http.post(PATH, **close_signed(CLOSE_KEY, close_event()))
    assert again.status_code == 200 and again.json()["activities"][0]["status"] == "duplicate"
    assert len(await recorded_events(crm_intake)) == 1 and await count_rows(crm_intake, tables.activities) == 1


async def test_an_inbound_email_is_recorded_as_inbound_and_an_unsent_one_not_at_all(crm_intake: Intake) -> None:
    await new_lead(crm_intake, "bo@example.com", close=CLOSE_LEAD_ID)
    inbound = close_event("activity.email", event_id="ev_in", direction="incoming", status="inbox")
    draft = close_event("activity.email", event_id="ev_draft", direction="outgoing", status="draft")
    for payload in (inbound, draft):
        assert (await crm_intake.http.post(PATH, **close_signed(CLOSE_KEY, payload))).status_code == 200
    [event] = await recorded_events(crm_intake)
    assert (event["data"]["activity_id"], event["data"]["type"], event["data"]["direction"]) == (
        "close:ev_in", "email", "inbound")


async def test_a_forged_or_stale_signature_is_a_401_and_nothing_is_stored(crm_intake: Intake) -> None:
    await new_lead(crm_intake, "cy@example.com", close=CLOSE_LEAD_ID)
    forged = close_signed("00" * 16, close_event())
    stale = close_signed(CLOSE_KEY, close_event(), at=int(time.time()) - 301)
    tampered = close_signed(CLOSE_KEY, close_event())
    tampered["content"] = tampered["content"].replace(b"outbound", b"inbound_")
    unsigned = {"json": close_event()}
    answers = [await crm_intake.http.post(PATH, **request) for request in (forged, stale, tampered, unsigned)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401]
    assert "timestamp" in answers[1].json()["detail"]
    assert await count_rows(crm_intake, tables.activities) == 0 and await recorded_events(crm_intake) == []


async def test_an_unknown_close_lead_is_parked_and_applied_when_a_lead_gets_that_id(crm_intake: Intake) -> None:
    answer = await crm_intake.http.post(PATH, **close_signed(CLOSE_KEY, close_event(lead_id="lead_later")))
    assert answer.json()["activities"][0]["status"] == "unmatched" and await recorded_events(crm_intake) == []
    lead_id = await new_lead(crm_intake, "di@example.com", close="lead_later")
    [event] = await recorded_events(crm_intake)
    assert event["subject"] == lead_id


async def test_a_malformed_event_is_a_422_naming_the_field(crm_intake: Intake) -> None:
    answer = await crm_intake.http.post(PATH, **close_signed(CLOSE_KEY, close_event(direction="sideways")))
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "event.data.direction"
    assert await count_rows(crm_intake, tables.unmatched_activities) == 0


async def test_unset_key_is_a_404_naming_the_variable(intake: Intake) -> None:
    answer = await intake.http.post(PATH, **close_signed(CLOSE_KEY, close_event()))
    assert answer.status_code == 404 and "CLOSE_SIGNATURE_KEY" in answer.json()["detail"]
