"""Tally webhooks over real HTTP: signed as Tally signs (base64 HMAC of the raw body), mapped by type and label."""

from __future__ import annotations

from intake import tables
from tests import source_payloads as docs
from tests.integration.intake.conftest import Intake, count_rows
from tests.integration.intake.sources_support import received_events, sources, stored_nothing

__all__ = ["sources"]


def signed(raw: bytes, secret: str = docs.TALLY_SECRET) -> dict[str, object]:
    return {"content": raw, "headers": {"Content-Type": "application/json",
                                        "Tally-Signature": docs.tally_signature(secret, raw)}}


async def test_the_documented_response_is_stored_mapped_and_a_retry_changes_nothing(sources: Intake) -> None:
    raw = docs.body(docs.tally())
    first = await sources.http.post("/v1/sources/tally", **signed(raw))
    assert first.status_code == 200, first.text
    [event] = await received_events(sources)
    assert event["lead_id"] == first.json()["lead_id"]
    assert (event["email"], event["phone"], event["first_name"], event["last_name"]) == (
        "alice@example.com", "+32470123456", "Alice", "Martin")
    assert (event["source"], event["campaign"], event["utm_source"]) == ("tally", "Webhook payload", "newsletter")
    assert event["captured_at"].startswith("2023-06-28T15:00:21")
    assert event["notes"] == "Company size: 51-200\nInterests: Routing, SLA alerts"

    again = await sources.http.post("/v1/sources/tally", **signed(raw))
    assert again.json()["lead_id"] == first.json()["lead_id"]
    assert len(await received_events(sources)) == 1 and await count_rows(sources, tables.source_leads) == 1


async def test_a_forged_or_missing_signature_is_a_401_and_stores_nothing(sources: Intake) -> None:
    raw = docs.body(docs.tally())
    forged = await sources.http.post("/v1/sources/tally", **signed(raw, secret="guess"))
    missing = await sources.http.post("/v1/sources/tally", content=raw, headers={"Content-Type": "application/json"})
    assert forged.status_code == missing.status_code == 401
    assert await stored_nothing(sources)


async def test_an_event_that_is_not_a_form_response_is_acknowledged_and_ignored(sources: Intake) -> None:
    answer = await sources.http.post("/v1/sources/tally", **signed(docs.body({**docs.tally(), "eventType": "PING"})))
    assert answer.status_code == 200 and answer.json() == {"lead_id": None, "status": "ignored"}
    assert await stored_nothing(sources)
