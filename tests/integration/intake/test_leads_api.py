"""Posting leads over HTTP stores them normalized and publishes ``lead.received`` on the real broker."""

from __future__ import annotations

from intake import tables
from shared import topics
from shared.events import LeadReceived, parse_data
from tests.integration.intake.conftest import Intake, count_rows
from tests.support import TopicReader

FORM_LEAD = ("email=+Ana.Ruiz%40Example.COM+&first_name=Ana&last_name=Ruiz&company=Fintastic"
             "&country=United+States&phone=%28415%29+555-0134&industry=FinTech&employees=1200"
             "&source=web_form&intent=demo_request&campaign=q4-demo&submit=Send")


async def test_an_html_form_post_is_normalized_stored_and_published(intake: Intake) -> None:
    answer = await intake.http.post("/v1/leads", content=FORM_LEAD,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "accepted" and body["duplicate_of"] is None

    stored = (await intake.http.get(f"/v1/leads/{body['lead_id']}")).json()
    assert stored["email"] == "ana.ruiz@example.com"
    assert stored["country"] == "US"
    assert stored["phone"] == "+14155550134"
    assert stored["industry"] == "fintech"
    assert stored["employees"] == 1200
    assert stored["received_at"]

    async with TopicReader(intake.kafka, topics.LEADS_RECEIVED) as reader:
        [event] = await reader.wait_for(lambda e: e.subject == body["lead_id"])
    data = parse_data(event)
    assert isinstance(data, LeadReceived)
    assert event.type == "lead.received" and event.specversion == "1.0"
    assert data.email == "ana.ruiz@example.com" and data.campaign == "q4-demo"


async def test_bad_fields_are_all_named_and_nothing_is_stored(intake: Intake) -> None:
    answer = await intake.http.post("/v1/leads", json={"email": "not-an-email", "country": "Narnia",
                                                        "employees": -3})
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json()["errors"]}
    assert fields == {"email", "country", "employees", "source"}
    assert await count_rows(intake, tables.leads) == 0
    assert await count_rows(intake, tables.outbox) == 0


async def test_a_second_lead_with_the_same_email_is_marked_duplicate(intake: Intake) -> None:
    first = (await intake.http.post("/v1/leads", json={"email": "bo@example.com", "source": "web_form"})).json()
    second = (await intake.http.post("/v1/leads", json={"email": "BO@example.com ", "source": "webinar"})).json()
    assert second["duplicate_of"] == first["lead_id"]
    assert second["lead_id"] != first["lead_id"]


async def test_idempotency_key_replays_the_answer_and_refuses_another_body(intake: Intake) -> None:
    lead = {"email": "cy@example.com", "source": "web_form"}
    headers = {"Idempotency-Key": "form-123"}
    first = await intake.http.post("/v1/leads", json=lead, headers=headers)
    again = await intake.http.post("/v1/leads", json=lead, headers=headers)
    assert again.status_code == 202 and again.json() == first.json()
    other = await intake.http.post("/v1/leads", json={**lead, "company": "Other"}, headers=headers)
    assert other.status_code == 409

    async with TopicReader(intake.kafka, topics.LEADS_RECEIVED) as reader:
        await reader.wait_for(lambda e: e.subject == first.json()["lead_id"])
        events = await reader.poll()
    assert [e.subject for e in events] == [first.json()["lead_id"]]


async def test_requests_without_a_valid_api_key_are_refused(intake: Intake) -> None:
    for headers in ({"X-API-Key": ""}, {"X-API-Key": "wrong"}):
        answer = await intake.http.post("/v1/leads", json={"email": "d@example.com", "source": "web_form"},
                                        headers=headers)
        assert answer.status_code == 401
    assert (await intake.http.get("/v1/leads/whatever", headers={"X-API-Key": "wrong"})).status_code == 401


async def test_a_body_over_the_limit_is_refused_with_413(intake: Intake) -> None:
    huge = {"email": "e@example.com", "source": "web_form", "notes": "x" * (intake.settings.intake_max_body_bytes + 1)}
    answer = await intake.http.post("/v1/leads", json=huge)
    assert answer.status_code == 413
    assert "limit" in answer.json()["detail"]


async def test_a_csv_batch_accepts_good_rows_and_rejects_bad_rows_whole(intake: Intake) -> None:
    csv_body = ("email,first_name,company,country,source,event,captured_at\n"
                "fa@example.com,Fa,Acme,DE,badge_scan,Expo,2026-11-20T10:00:00+01:00\n"
                "not-an-email,Gus,Acme,DE,badge_scan,Expo,\n"
                "ha@example.com,Ha,Acme,Germany,badge_scan,Expo,\n")
    answer = await intake.http.post("/v1/leads/batch", content=csv_body, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200
    body = answer.json()
    assert [a["row"] for a in body["accepted"]] == [1, 3]
    assert body["rejected"][0]["row"] == 2
    assert body["rejected"][0]["errors"][0]["field"] == "email"
    third = (await intake.http.get(f"/v1/leads/{body['accepted'][1]['lead_id']}")).json()
    assert third["country"] == "DE"


async def test_a_json_batch_reports_each_row(intake: Intake) -> None:
    answer = await intake.http.post("/v1/leads/batch", json={"leads": [
        {"email": "ia@example.com", "source": "badge_scan"}, {"source": "badge_scan"}]})
    body = answer.json()
    assert len(body["accepted"]) == 1 and body["rejected"][0]["row"] == 2
    assert body["rejected"][0]["errors"][0]["field"] == "phone"
