"""Lead identity across CRMs: ``external_ids`` at intake, CRM activities resolved through them, activities for
records not known yet parked and recorded once the id is linked (at intake, or by a ``lead.linked`` event)."""

from __future__ import annotations

from datetime import UTC, datetime

from intake import tables
from intake.identity import CrmActivity, record_crm_activities
from shared import db, topics
from shared.events import ActivityRecorded, CloudEvent, LeadLinked, parse_data
from tests.integration.intake.conftest import ADMIN_TOKEN, Intake, count_rows
from tests.support import TopicReader, eventually, publish

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def call(external_id: str, activity_id: str, crm: str = "hubspot") -> CrmActivity:
    return CrmActivity(crm=crm, external_id=external_id, activity_id=f"{crm}:{activity_id}",  # type: ignore[arg-type]
                       type="call", direction="outbound", occurred_at=datetime(2026, 11, 27, 8, 59, tzinfo=UTC),
                       rep_id="owner-7")


async def record(intake: Intake, *activities: CrmActivity) -> list[tuple[str | None, str]]:
    engine = db.create_engine(intake.settings.intake_database_url, schema=intake.settings.intake_database_schema)
    try:
        return list(await record_crm_activities(db.create_session_factory(engine), activities, now=NOW))
    finally:
        await engine.dispose()


async def activity_events(intake: Intake, lead_id: str, count: int) -> list[ActivityRecorded]:
    async with TopicReader(intake.kafka, topics.LEADS_ACTIVITY) as reader:
        events = await reader.wait_for(lambda e: e.subject == lead_id and e.type == "activity.recorded", count=count)
        await reader.poll()
        events = [e for e in reader.events if e.subject == lead_id and e.type == "activity.recorded"]
    return [parse_data(e) for e in events]  # type: ignore[misc]


async def test_external_ids_are_kept_with_the_lead_and_resolve_its_crm_activities(intake: Intake) -> None:
    answer = await intake.http.post("/v1/leads", json={
        "email": "ana@example.com", "source": "web_form", "external_ids": {"hubspot": " 901 ", "close": "lead_abc"}})
    assert answer.status_code == 202, answer.text
    lead_id = answer.json()["lead_id"]
    lead = (await intake.http.get(f"/v1/leads/{lead_id}")).json()
    assert lead["external_ids"] == {"hubspot": "901", "close": "lead_abc"}

    outcomes = await record(intake, call("901", "e1"), call("901", "e1"), call("lead_abc", "e2", crm="close"))
    assert outcomes == [(lead_id, "accepted"), (lead_id, "duplicate"), (lead_id, "accepted")]
    recorded = await activity_events(intake, lead_id, count=2)
    assert sorted(e.activity_id for e in recorded) == ["close:e2", "hubspot:e1"]
    assert {e.rep_id for e in recorded} == {"owner-7"}


async def test_the_same_id_in_another_crm_is_another_person(intake: Intake) -> None:
    await intake.http.post("/v1/leads", json={"email": "a@example.com", "source": "web_form",
                                              "external_ids": {"hubspot": "77"}})
    assert await record(intake, call("77", "x", crm="pipedrive")) == [(None, "unmatched")]


async def test_malformed_external_ids_are_refused_naming_the_field(intake: Intake) -> None:
    for external_ids, field in (({"zoho": "1"}, "external_ids.zoho"), ({"hubspot": ""}, "external_ids.hubspot"),
                                ({"hubspot": "x" * 256}, "external_ids.hubspot"), (["901"], "external_ids")):
        answer = await intake.http.post("/v1/leads", json={"email": "b@example.com", "source": "web_form",
                                                           "external_ids": external_ids})
        assert answer.status_code == 422, answer.text
        assert any(e["field"].startswith(field) for e in answer.json()["errors"]), answer.json()
    assert await count_rows(intake, tables.leads) == 0
    assert await count_rows(intake, tables.lead_external_ids) == 0


async def test_an_activity_for_an_unknown_record_waits_and_is_recorded_when_a_lead_brings_the_id(
        intake: Intake) -> None:
    assert await record(intake, call("555", "early")) == [(None, "unmatched")]
    assert await record(intake, call("555", "early")) == [(None, "duplicate")]  # a provider's retry
    assert await count_rows(intake, tables.activities) == 0

    assert (await intake.http.get("/v1/integrations/unmatched")).status_code == 401
    listed = (await intake.http.get("/v1/integrations/unmatched", headers=ADMIN)).json()
    assert listed["count"] == 1
    assert listed["items"][0] | {"received_at": None} == {
        "crm": "hubspot", "external_id": "555", "activity_id": "hubspot:early", "type": "call",
        "direction": "outbound", "occurred_at": "2026-11-27T08:59:00+00:00", "received_at": None}

    answer = await intake.http.post("/v1/leads", json={"email": "c@example.com", "source": "web_form",
                                                       "external_ids": {"hubspot": "555"}})
    lead_id = answer.json()["lead_id"]
    [recorded] = await activity_events(intake, lead_id, count=1)
    assert recorded.activity_id == "hubspot:early"
    assert recorded.occurred_at == datetime(2026, 11, 27, 8, 59, tzinfo=UTC)  # when it happened, not when applied
    assert (await intake.http.get("/v1/integrations/unmatched", headers=ADMIN)).json() == {"count": 0, "items": []}
    assert await record(intake, call("555", "early")) == [(lead_id, "duplicate")]


async def test_a_lead_linked_event_records_what_was_waiting_for_that_id(intake: Intake) -> None:
    lead_id = (await intake.http.post("/v1/leads", json={"email": "d@example.com", "source": "web_form"})).json()[
        "lead_id"]
    assert await record(intake, call("00Q5g00000AbCdE", "n1", crm="salesforce")) == [(None, "unmatched")]

    linked = LeadLinked(lead_id=lead_id, crm="salesforce", external_id="00Q5g00000AbCdE", linked_at=NOW)
    event = CloudEvent.wrap(linked, source="leadrouter/test", time=NOW)
    await publish(intake.kafka, topics.LEADS_ACTIVITY, event)
    await publish(intake.kafka, topics.LEADS_ACTIVITY, event)  # redelivered: no second effect

    [recorded] = await activity_events(intake, lead_id, count=1)
    assert recorded.activity_id == "salesforce:n1"

    async def linked_shown() -> bool | None:
        lead = (await intake.http.get(f"/v1/leads/{lead_id}")).json()
        return lead["external_ids"] == {"salesforce": "00Q5g00000AbCdE"} or None

    assert await eventually(linked_shown)
    assert await record(intake, call("00Q5g00000AbCdE", "n2", crm="salesforce")) == [(lead_id, "accepted")]
    assert await count_rows(intake, tables.unmatched_activities) == 0
    assert await count_rows(intake, tables.activities) == 2


async def test_the_first_lead_to_claim_an_id_keeps_it(intake: Intake) -> None:
    first = (await intake.http.post("/v1/leads", json={"email": "e@example.com", "source": "web_form",
                                                       "external_ids": {"pipedrive": "12"}})).json()["lead_id"]
    await intake.http.post("/v1/leads", json={"email": "f@example.com", "source": "web_form",
                                              "external_ids": {"pipedrive": "12"}})
    assert await record(intake, call("12", "p1", crm="pipedrive")) == [(first, "accepted")]


async def test_a_batch_upload_links_external_ids_too(intake: Intake) -> None:
    await record(intake, call("b-1", "w1"))
    answer = await intake.http.post("/v1/leads/batch", json={"leads": [
        {"email": "g@example.com", "source": "list_upload", "external_ids": {"hubspot": "b-1"}},
        {"email": "h@example.com", "source": "list_upload"}]})
    [first, _] = answer.json()["accepted"]
    [recorded] = await activity_events(intake, first["lead_id"], count=1)
    assert recorded.activity_id == "hubspot:w1"
