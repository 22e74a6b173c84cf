"""Google Ads lead form webhooks over real HTTP: the key in the body, columns by column_id, test leads not routed."""

from __future__ import annotations

import json

from tests import source_payloads as docs
from tests.integration.intake.conftest import Intake
from tests.integration.intake.sources_support import received_events, sources, stored_nothing

__all__ = ["sources"]


async def test_a_lead_with_our_key_is_stored_mapped_and_a_retry_changes_nothing(sources: Intake) -> None:
    payload = docs.google_ads()
    first = await sources.http.post("/v1/sources/google-ads", json=payload)
    assert first.status_code == 200, first.text
    [event] = await received_events(sources)
    assert event["lead_id"] == first.json()["lead_id"]
    assert (event["first_name"], event["last_name"], event["email"], event["phone"]) == (
        "FirstName", "LastName", "test@example.com", "1-650-555-0123")
    assert (event["source"], event["campaign"]) == ("google_ads", "50000000000")
    assert event["captured_at"].startswith("2024-09-26T12:30:00")
    assert "City: Mountain View" in event["notes"] and "gclid: TeSter-123" in event["notes"]
    again = await sources.http.post("/v1/sources/google-ads", json=payload)
    assert again.json()["lead_id"] == first.json()["lead_id"] and len(await received_events(sources)) == 1


async def test_a_test_lead_is_answered_200_and_neither_stored_nor_published(sources: Intake) -> None:
    answer = await sources.http.post("/v1/sources/google-ads", json=docs.google_ads(is_test=True))
    assert answer.status_code == 200 and answer.json()["lead_id"] is None
    assert await stored_nothing(sources)


async def test_a_wrong_or_missing_key_or_an_unreadable_body_is_a_401_and_stores_nothing(sources: Intake) -> None:
    documented = docs.google_ads_documented()  # Google's sample carries google_key "test", not ours
    without = {k: v for k, v in docs.google_ads().items() if k != "google_key"}
    for content in (json.dumps(documented).encode(), json.dumps(without).encode(), b"{oops"):
        answer = await sources.http.post("/v1/sources/google-ads", content=content,
                                         headers={"Content-Type": "application/json"})
        assert answer.status_code == 401, answer.text
    assert await stored_nothing(sources)


async def test_a_lead_without_email_or_phone_is_a_422_naming_the_field(sources: Intake) -> None:
    payload = docs.google_ads()
    payload["user_column_data"] = [c for c in payload["user_column_data"] if c["column_id"] == "FULL_NAME"]
    answer = await sources.http.post("/v1/sources/google-ads", json=payload)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "phone"
    assert await stored_nothing(sources)
