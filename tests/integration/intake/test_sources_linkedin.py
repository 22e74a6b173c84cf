"""LinkedIn Lead Sync over real HTTP, against a local fake of LinkedIn's REST API: the challenge, signed
LEAD_ACTION notifications answered at once, the form response fetched with the documented headers and stored
exactly once (also when LinkedIn is down for a while), forged or unconfigured requests refused."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from intake import tables
from shared import topics
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import Intake, count_rows
from tests.integration.intake.lead_ads_support import (
    FakeProviderApi,
    fetch_rows,
    intake_on,
    new_database,
    provider_api,
    settled_fetch,
)
from tests.lead_ads_examples import (
    LINKEDIN_LEAD,
    LINKEDIN_NOT_FOUND,
    LINKEDIN_NOTIFICATION,
    LINKEDIN_RESPONSE_ID,
    LINKEDIN_TOKEN_EXPIRED,
    copied,
)
from tests.support import TopicReader

CLIENT_SECRET, ACCESS_TOKEN = "test-linkedin-secret", "test-linkedin-token"


def signed(payload: Any, *, secret: str = CLIENT_SECRET) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()
    return {"content": body, "headers": {"Content-Type": "application/json", "X-LI-Signature": digest}}


@pytest.fixture
def api() -> FakeProviderApi:
    return FakeProviderApi(prefix="/rest/leadFormResponses", leads={LINKEDIN_RESPONSE_ID: copied(LINKEDIN_LEAD)},
                           not_found=LINKEDIN_NOT_FOUND)


@pytest.fixture
async def linkedin(databases: DatabaseFactory, kafka_bootstrap: str, api: FakeProviderApi) -> AsyncIterator[Intake]:
    url = await new_database(databases)
    async with provider_api(api) as api_url, intake_on(
            url, kafka_bootstrap, linkedin_client_secret=CLIENT_SECRET, linkedin_access_token=ACCESS_TOKEN,
            linkedin_api_url=api_url) as intake:
        yield intake


async def test_the_challenge_is_answered_with_the_hmac_of_the_code(linkedin: Intake) -> None:
    code = "0a2a8c0f-5c9b-4e2f-9b5e-2d7f4c1a6b3e"
    answer = await linkedin.http.get("/v1/sources/linkedin", params={"challengeCode": code})
    assert answer.status_code == 200
    assert answer.json() == {"challengeCode": code, "challengeResponse": hmac.new(
        CLIENT_SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()}
    missing = await linkedin.http.get("/v1/sources/linkedin")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "query.challengeCode"


async def test_a_signed_notification_is_answered_at_once_and_the_response_fetched_mapped_and_published(
        linkedin: Intake, api: FakeProviderApi) -> None:
    answer = await linkedin.http.post("/v1/sources/linkedin", **signed(copied(LINKEDIN_NOTIFICATION)))
    assert answer.status_code == 200 and answer.json()["new"] == 1

    row = await settled_fetch(linkedin, LINKEDIN_RESPONSE_ID, state="done")
    [request] = api.fetched(LINKEDIN_RESPONSE_ID)
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["x-restli-protocol-version"] == "2.0.0"
    assert request.headers["linkedin-version"] == linkedin.settings.linkedin_api_version
    assert "fields=id,submittedAt," in request.url.query  # Rest.li projection, not percent-encoded
    assert "form:(hiddenFields,name,id,content)" in request.query_params["fields"]

    lead = (await linkedin.http.get(f"/v1/leads/{row.lead_id}")).json()
    assert (lead["email"], lead["source"]) == ("ana.ruiz@example.com", "linkedin")
    assert (lead["first_name"], lead["last_name"], lead["campaign"]) == ("Ana", "Ruiz", "Q2 CFO webinar")
    assert lead["utm_source"] == "linkedin"  # a hidden field of the form
    assert "51-500" in lead["notes"]  # an unmapped multiple-choice answer, by its option's text
    assert lead["captured_at"].startswith("2024-03-25T19:41:00")
    async with TopicReader(linkedin.kafka, topics.LEADS_RECEIVED) as reader:
        await reader.wait_for(lambda e: e.subject == row.lead_id)


async def test_while_linkedin_fails_the_lead_waits_and_is_stored_once_it_recovers(
        linkedin: Intake, api: FakeProviderApi) -> None:
    api.fail_next, api.fail_status = 2, 503
    await linkedin.http.post("/v1/sources/linkedin", **signed(copied(LINKEDIN_NOTIFICATION)))
    again = await linkedin.http.post("/v1/sources/linkedin", **signed(copied(LINKEDIN_NOTIFICATION)))
    assert again.json()["new"] == 0
    row = await settled_fetch(linkedin, LINKEDIN_RESPONSE_ID, state="done")
    assert row.attempts == 3 and len(api.fetched(LINKEDIN_RESPONSE_ID)) == 3
    assert await count_rows(linkedin, tables.leads) == 1


async def test_a_revoked_token_keeps_the_lead_as_failed_with_the_reason(
        linkedin: Intake, api: FakeProviderApi) -> None:
    api.fail_next, api.fail_status, api.fail_body = 1, 401, LINKEDIN_TOKEN_EXPIRED
    await linkedin.http.post("/v1/sources/linkedin", **signed(copied(LINKEDIN_NOTIFICATION)))
    row = await settled_fetch(linkedin, LINKEDIN_RESPONSE_ID, state="failed")
    assert row.failure_kind == "auth" and row.last_error == "HTTP 401 REVOKED_ACCESS_TOKEN (serviceErrorCode 65601)"
    assert await count_rows(linkedin, tables.leads) == 0


async def test_a_deleted_lead_notification_stores_nothing(linkedin: Intake, api: FakeProviderApi) -> None:
    answer = await linkedin.http.post("/v1/sources/linkedin",
                                      **signed({**LINKEDIN_NOTIFICATION, "leadAction": "DELETED"}))
    assert answer.status_code == 200 and answer.json()["new"] == 0
    assert await fetch_rows(linkedin) == [] and api.requests == []


async def test_a_forged_or_missing_signature_is_refused_and_stores_nothing(
        linkedin: Intake, api: FakeProviderApi) -> None:
    forged = await linkedin.http.post("/v1/sources/linkedin", **signed(copied(LINKEDIN_NOTIFICATION), secret="x"))
    body = json.dumps(LINKEDIN_NOTIFICATION).encode()
    without_prefix = await linkedin.http.post("/v1/sources/linkedin", content=body, headers={
        "X-LI-Signature": hmac.new(CLIENT_SECRET.encode(), body, hashlib.sha256).hexdigest()})
    unsigned = await linkedin.http.post("/v1/sources/linkedin", json=LINKEDIN_NOTIFICATION)
    assert [r.status_code for r in (forged, without_prefix, unsigned)] == [401, 401, 401]
    assert await fetch_rows(linkedin) == [] and api.requests == []


async def test_an_unset_secret_is_a_404_naming_the_variable(databases: DatabaseFactory, kafka_bootstrap: str) -> None:
    async with intake_on(await new_database(databases), kafka_bootstrap) as intake:
        post = await intake.http.post("/v1/sources/linkedin", **signed(copied(LINKEDIN_NOTIFICATION)))
        get = await intake.http.get("/v1/sources/linkedin", params={"challengeCode": "abc"})
        assert post.status_code == 404 and "LINKEDIN_CLIENT_SECRET" in post.json()["detail"]
        assert get.status_code == 404 and "LINKEDIN_CLIENT_SECRET" in get.json()["detail"]
        assert await fetch_rows(intake) == []


async def test_a_test_lead_is_fetched_and_checked_but_neither_stored_nor_published(
        linkedin: Intake, api: FakeProviderApi) -> None:
    api.leads[LINKEDIN_RESPONSE_ID]["testLead"] = True
    await linkedin.http.post("/v1/sources/linkedin", **signed(copied(LINKEDIN_NOTIFICATION)))
    row = await settled_fetch(linkedin, LINKEDIN_RESPONSE_ID, state="done")
    assert row.lead_id is None and len(api.fetched(LINKEDIN_RESPONSE_ID)) == 1
    assert await count_rows(linkedin, tables.leads) == 0 and await count_rows(linkedin, tables.outbox) == 0
