"""Pipedrive webhooks v2 over real HTTP on a real database: HTTP Basic, a done activity recorded for the
lead whose ``external_ids.pipedrive`` is the person, every other event answered 200 with nothing stored."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from intake import tables
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import Intake, count_rows
from tests.integration.intake.crm_support import (
    PD_PASSWORD,
    PD_USER,
    new_lead,
    recorded_events,
    running_crm_intake,
)
from tests.unit.intake.crm_examples import PD_PERSON_ID, pd_activity

PATH = "/v1/integrations/pipedrive"


@pytest.fixture
async def crm_intake(databases: DatabaseFactory, kafka_bootstrap: str) -> AsyncIterator[Intake]:
    async with running_crm_intake(databases, kafka_bootstrap) as running:
        yield running


def _auth(user: str = PD_USER, password: str = PD_PASSWORD) -> dict[str, str]:
    # Computed here, as Pipedrive sends it (RFC 7617), not with the code under test.
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_an_activity_created_done_is_recorded_once_for_the_person_s_lead(crm_intake: Intake) -> None:
    lead_id = await new_lead(crm_intake, "ana@example.com", pipedrive=str(PD_PERSON_ID))
    first = await crm_intake.http.post(PATH, json=pd_activity(), headers=_auth())
    assert first.status_code == 200, first.text
    assert first.json()["activities"] == [{"activity_id": "pipedrive:a7c5f1b2-3d4e-4f60-8a9b-0c1d2e3f4a5b",
                                           "lead_id": lead_id, "status": "accepted"}]
    [event] = await recorded_events(crm_intake)
    assert event["subject"] == lead_id and event["data"]["lead_id"] == lead_id
    assert (event["data"]["type"], event["data"]["direction"]) == ("call", "outbound")
    assert event["data"]["occurred_at"].startswith("2026-11-27T09:30:11") and event["data"]["rep_id"] == "1234"

    again = await crm_intake.http.post(PATH, json=pd_activity(), headers=_auth())
    assert again.status_code == 200 and again.json()["activities"][0]["status"] == "duplicate"
    assert len(await recorded_events(crm_intake)) == 1 and await count_rows(crm_intake, tables.activities) == 1


async def test_a_change_to_done_is_recorded_and_other_events_are_200_with_nothing_stored(crm_intake: Intake) -> None:
    await new_lead(crm_intake, "bo@example.com", pipedrive=str(PD_PERSON_ID))
    open_task = await crm_intake.http.post(PATH, json=pd_activity(done=False), headers=_auth())
    deal = pd_activity(event_id="e-deal")
    deal["meta"]["entity"] = "deal"
    other = await crm_intake.http.post(PATH, json=deal, headers=_auth())
    assert (open_task.status_code, other.status_code) == (200, 200) and other.json()["activities"] == []
    assert await count_rows(crm_intake, tables.activities) == 0
    marked = await crm_intake.http.post(PATH, headers=_auth(), json=pd_activity(
        "change", event_id="e-done", previous={"done": False}))
    assert marked.json()["activities"][0]["status"] == "accepted"
    assert [e["data"]["activity_id"] for e in await recorded_events(crm_intake)] == ["pipedrive:e-done"]


async def test_wrong_or_missing_credentials_are_a_401_with_a_challenge_and_nothing_stored(crm_intake: Intake) -> None:
    await new_lead(crm_intake, "cy@example.com", pipedrive=str(PD_PERSON_ID))
    wrong = await crm_intake.http.post(PATH, json=pd_activity(), headers=_auth(password="guess"))
    wrong_user = await crm_intake.http.post(PATH, json=pd_activity(), headers=_auth(user="admin"))
    missing = await crm_intake.http.post(PATH, json=pd_activity())
    garbage = await crm_intake.http.post(PATH, json=pd_activity(), headers={"Authorization": "Basic ###"})
    for answer in (wrong, wrong_user, missing, garbage):
        assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Basic")
    assert await count_rows(crm_intake, tables.activities) == 0 and await recorded_events(crm_intake) == []


async def test_an_unknown_person_is_parked_and_applied_when_a_lead_gets_that_id(crm_intake: Intake) -> None:
    answer = await crm_intake.http.post(PATH, json=pd_activity(person_id=77), headers=_auth())
    assert answer.status_code == 200 and answer.json()["activities"][0]["status"] == "unmatched"
    assert await recorded_events(crm_intake) == []
    lead_id = await new_lead(crm_intake, "di@example.com", pipedrive="77")
    [event] = await recorded_events(crm_intake)
    assert event["subject"] == lead_id and event["data"]["activity_id"].startswith("pipedrive:")


async def test_a_malformed_event_is_a_422_naming_the_field(crm_intake: Intake) -> None:
    no_id = pd_activity()
    del no_id["meta"]["id"]
    answer = await crm_intake.http.post(PATH, json=no_id, headers=_auth())
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "meta.id"
    not_json = await crm_intake.http.post(PATH, content=b"{", headers={**_auth(), "Content-Type": "application/json"})
    assert not_json.status_code == 422


async def test_unset_credentials_are_a_404_naming_the_variable(intake: Intake) -> None:
    answer = await intake.http.post(PATH, json=pd_activity(), headers=_auth())
    assert answer.status_code == 404 and "PIPEDRIVE_WEBHOOK_USER" in answer.json()["detail"]
