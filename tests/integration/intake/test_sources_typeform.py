"""Typeform webhooks over real HTTP: the documented response, signed as Typeform signs, becomes a lead and its
``lead.received``; a retry has no second effect; a forged or missing signature stores nothing."""

from __future__ import annotations

import asyncio

from intake import tables
from tests import source_payloads as docs
from tests.integration.intake.conftest import API_KEY, Intake, count_rows
from tests.integration.intake.sources_support import received_events, sources, stored_nothing

__all__ = ["sources"]


def signed(raw: bytes, secret: str = docs.TYPEFORM_SECRET) -> dict[str, object]:
    return {"content": raw, "headers": {"Content-Type": "application/json",
                                        "Typeform-Signature": docs.typeform_signature(secret, raw)}}


async def test_the_documented_response_is_stored_mapped_and_queued_once(sources: Intake) -> None:
    raw = docs.body(docs.typeform())
    first = await sources.http.post("/v1/sources/typeform", **signed(raw))
    assert first.status_code == 200, first.text
    lead_id = first.json()["lead_id"]
    lead = (await sources.http.get(f"/v1/leads/{lead_id}", headers={"X-API-Key": API_KEY})).json()
    assert (lead["email"], lead["phone"], lead["source"], lead["campaign"]) == (
        "laura@example.com", "+14155550134", "typeform", "Webhooks example")
    [event] = await received_events(sources)
    assert event["lead_id"] == lead_id and event["source"] == "typeform" and event["campaign"] == "Webhooks example"
    assert event["captured_at"].startswith("2018-01-18T18:17:02") and event["utm_source"] == "newsletter"
    assert "What is your first name?: Laura" in event["notes"]

    again = await sources.http.post("/v1/sources/typeform", **signed(raw))
    assert again.status_code == 200 and again.json() == {"lead_id": lead_id, "status": "duplicate"}
    assert len(await received_events(sources)) == 1
    assert await count_rows(sources, tables.leads) == 1


async def test_two_deliveries_of_one_response_at_once_make_one_lead(sources: Intake) -> None:
    raw = docs.body(docs.typeform())
    answers = await asyncio.gather(*(sources.http.post("/v1/sources/typeform", **signed(raw)) for _ in range(3)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["lead_id"] for a in answers}) == 1
    assert await count_rows(sources, tables.leads) == 1 and len(await received_events(sources)) == 1


async def test_a_forged_missing_or_other_bodys_signature_is_a_401_and_stores_nothing(sources: Intake) -> None:
    raw = docs.body(docs.typeform())
    tampered = raw.replace(b"laura@example.com", b"mallory@example.com")
    attempts = [
        signed(raw, secret="not-the-secret"),
        {"content": raw, "headers": {"Content-Type": "application/json"}},
        {"content": tampered, "headers": signed(raw)["headers"]},
    ]
    for attempt in attempts:
        answer = await sources.http.post("/v1/sources/typeform", **attempt)  # type: ignore[arg-type]
        assert answer.status_code == 401, answer.text
        assert "Typeform-Signature" in answer.json()["detail"]
    assert await stored_nothing(sources)


async def test_a_response_without_email_or_phone_or_unreadable_json_is_a_422_naming_the_field(
        sources: Intake) -> None:
    payload = docs.typeform()
    payload["form_response"]["answers"] = [a for a in payload["form_response"]["answers"]
                                           if a["type"] not in {"email", "phone_number"}]
    no_contact = await sources.http.post("/v1/sources/typeform", **signed(docs.body(payload)))
    not_json = await sources.http.post("/v1/sources/typeform", **signed(b"{not json"))
    assert no_contact.status_code == 422 and {e["field"] for e in no_contact.json()["errors"]} == {"phone"}
    assert not_json.status_code == 422 and not_json.json()["errors"][0]["field"] == "body"
    assert await stored_nothing(sources)
