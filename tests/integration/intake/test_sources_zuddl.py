"""Zuddl LEAD_ADDED webhooks over real HTTP, authenticated by the X-Webhook-Token header set in Zuddl."""

from __future__ import annotations

from tests import source_payloads as docs
from tests.integration.intake.conftest import Intake
from tests.integration.intake.sources_support import received_events, sources, stored_nothing

__all__ = ["sources"]

TOKEN = {"X-Webhook-Token": docs.ZUDDL_TOKEN}


async def test_the_documented_lead_added_is_stored_mapped_and_a_retry_changes_nothing(sources: Intake) -> None:
    first = await sources.http.post("/v1/sources/zuddl", json=docs.zuddl(), headers=TOKEN)
    assert first.status_code == 200, first.text
    [event] = await received_events(sources)
    assert (event["email"], event["first_name"], event["title"], event["company"]) == (
        "john.doe@example.com", "John", "Product Manager", "Acme Corp")
    assert (event["source"], event["campaign"], event["event"]) == ("zuddl", "Huddle with zuddl.",
                                                                   "Huddle with zuddl.")
    assert event["captured_at"].startswith("2025-04-07T09:57:55") and "Rating: 5" in event["notes"]
    again = await sources.http.post("/v1/sources/zuddl", json=docs.zuddl(), headers=TOKEN)
    assert again.json()["lead_id"] == first.json()["lead_id"] and len(await received_events(sources)) == 1


async def test_a_wrong_or_missing_token_is_a_401_and_other_actions_are_ignored(sources: Intake) -> None:
    wrong = await sources.http.post("/v1/sources/zuddl", json=docs.zuddl(), headers={"X-Webhook-Token": "guess"})
    missing = await sources.http.post("/v1/sources/zuddl", json=docs.zuddl())
    other = await sources.http.post("/v1/sources/zuddl", json={**docs.zuddl(), "action": "REGISTRATION_APPROVED"},
                                    headers=TOKEN)
    assert wrong.status_code == missing.status_code == 401
    assert other.status_code == 200 and other.json()["status"] == "ignored"
    assert await stored_nothing(sources)
