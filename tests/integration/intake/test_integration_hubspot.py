"""HubSpot webhooks into intake: HubSpot's documented payloads, signed in the test with signature v3, over real
HTTP, on SQLite and PostgreSQL, with a local fake of HubSpot's CRM API for created calls, emails and meetings."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from intake import tables
from intake.main import create_app
from shared import topics
from shared.db import create_engine
from shared.events import ActivityRecorded, parse_data
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import API_KEY, Intake, count_rows, intake_settings, migrated
from tests.support import TopicReader, serve

SECRET = "hubspot-client-secret"
TOKEN = "pat-na1-test-token"
PATH = "/v1/integrations/hubspot"


def last_contacted(contact_id: int, *, at_ms: int, occurred_ms: int | None = None) -> dict[str, Any]:
    """HubSpot's documented example event (webhooks API), for the property this adapter subscribes to."""
    return {"objectId": contact_id, "propertyName": "notes_last_contacted", "propertyValue": str(at_ms),
            "changeSource": "CRM_UI", "eventId": 3816279340, "subscriptionId": 25, "portalId": 33,
            "appId": 1160452, "occurredAt": occurred_ms or at_ms + 900, "subscriptionType": "contact.propertyChange",
            "attemptNumber": 0}


def created(object_type_id: str, object_id: int, *, occurred_ms: int) -> dict[str, Any]:
    """A generic-format ``object.creation`` event as HubSpot delivers it."""
    return {"eventId": 2145459286, "subscriptionId": 3849706, "portalId": 33, "appId": 1160452,
            "occurredAt": occurred_ms, "subscriptionType": "object.creation", "attemptNumber": 0,
            "objectId": object_id, "objectTypeId": object_type_id, "changeFlag": "CREATED",
            "changeSource": "CRM_UI", "sourceId": "userId:75514748"}


def signed(events: Any, uri: str, *, secret: str = SECRET, at_ms: int | None = None) -> dict[str, Any]:
    """The request HubSpot sends: v3 = base64 HMAC-SHA256(secret, "POST" + uri + body + timestamp)."""
    body = json.dumps(events).encode()
    timestamp = str(at_ms if at_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), b"POST" + uri.encode() + body + timestamp.encode(), hashlib.sha256).digest()
    return {"content": body, "headers": {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": timestamp,
                                         "X-HubSpot-Signature-v3": base64.b64encode(digest).decode()}}


@dataclass
class FakeHubSpot:
    """HubSpot's CRM API as documented: GET /crm/v3/objects/{type}/{id}?properties=… and
    GET /crm/v4/objects/{type}/{id}/associations/contacts; answers only the bearer token it was given."""

    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    contacts: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    delay: float = 0.0

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/crm/v3/objects/{object_type}/{object_id}", self._object),
            Route("/crm/v4/objects/{object_type}/{object_id}/associations/contacts", self._associations),
        ])

    async def _guard(self, request: Request) -> Response | None:
        self.requests.append(request.url.path)
        await asyncio.sleep(self.delay)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"status": "error", "category": "INVALID_AUTHENTICATION"}, status_code=401)
        return None

    async def _object(self, request: Request) -> Response:
        key = (request.path_params["object_type"], request.path_params["object_id"])
        if refused := await self._guard(request):
            return refused
        if key not in self.objects:
            return JSONResponse({"status": "error", "category": "OBJECT_NOT_FOUND"}, status_code=404)
        wanted = request.query_params.get("properties", "").split(",")
        properties = {k: v for k, v in self.objects[key].items() if k in wanted}
        return JSONResponse({"id": key[1], "properties": properties, "createdAt": "2026-11-27T09:00:00Z",
                             "updatedAt": "2026-11-27T09:00:00Z", "archived": False})

    async def _associations(self, request: Request) -> Response:
        key = (request.path_params["object_type"], request.path_params["object_id"])
        if refused := await self._guard(request):
            return refused
        return JSONResponse({"results": [
            {"toObjectId": contact, "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": 194, "label": None}]}
            for contact in self.contacts.get(key, [])]})


@dataclass
class HubSpotIntake:
    intake: Intake
    base_url: str
    api: FakeHubSpot

    @property
    def http(self) -> httpx.AsyncClient:
        return self.intake.http

    async def webhook(self, events: Any, **options: Any) -> httpx.Response:
        return await self.http.post(PATH, **signed(events, self.base_url + PATH, **options))

    async def lead(self, email: str, hubspot_id: str | None = None) -> str:
        payload: dict[str, Any] = {"email": email, "source": "web_form"}
        if hubspot_id:
            payload["external_ids"] = {"hubspot": hubspot_id}
        answer = await self.http.post("/v1/leads", json=payload)
        assert answer.status_code == 202, answer.text
        return str(answer.json()["lead_id"])

    async def activities(self) -> list[dict[str, Any]]:
        settings = self.intake.settings
        engine = create_engine(settings.intake_database_url, schema=settings.intake_database_schema)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(select(tables.activities.c.data).order_by(tables.activities.c.activity_id))
                return [dict(row.data) for row in rows]
        finally:
            await engine.dispose()


@asynccontextmanager
async def running(databases: DatabaseFactory, kafka: str, api: FakeHubSpot, **overrides: Any
                  ) -> AsyncIterator[HubSpotIntake]:
    async with serve(api.app()) as api_url:
        values = {"hubspot_client_secret": SECRET, "hubspot_access_token": TOKEN, "hubspot_api_url": api_url,
                  **overrides}
        settings = intake_settings(await migrated(databases), kafka, **values)
        async with serve(create_app(settings)) as base_url, httpx.AsyncClient(
                base_url=base_url, headers={"X-API-Key": API_KEY}, timeout=10) as http:
            yield HubSpotIntake(Intake(http=http, settings=settings, kafka=kafka), base_url, api)


@pytest.fixture
async def hub(databases: DatabaseFactory, kafka_bootstrap: str) -> AsyncIterator[HubSpotIntake]:
    async with running(databases, kafka_bootstrap, FakeHubSpot()) as started:
        yield started


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_a_last_contacted_change_is_a_touch_for_the_lead_with_that_contact_id_and_a_repeat_is_nothing_new(
        hub: HubSpotIntake) -> None:
    lead_id = await hub.lead("ana@example.com", hubspot_id="1246965")
    touched_ms = now_ms() - 60_000
    event = last_contacted(1246965, at_ms=touched_ms)
    first = await hub.webhook([event])
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == 1

    async with TopicReader(hub.intake.kafka, topics.LEADS_ACTIVITY) as reader:
        [published] = await reader.wait_for(lambda e: e.type == "activity.recorded" and e.subject == lead_id)
    data = parse_data(published)
    assert isinstance(data, ActivityRecorded)
    assert data.is_outbound_touch and data.lead_id == lead_id
    assert int(data.occurred_at.timestamp() * 1000) == touched_ms
    assert data.activity_id.startswith("hubspot:33:contact:1246965:notes_last_contacted:")

    # HubSpot retries (eventId is not unique and attemptNumber changes): no second activity, no second event.
    again = await hub.webhook([{**event, "attemptNumber": 1}])
    assert again.status_code == 200 and again.json()["duplicate"] == 1 and again.json()["accepted"] == 0
    assert await count_rows(hub.intake, tables.activities) == 1


async def test_a_forged_stale_or_unsigned_request_is_refused_and_stores_nothing(hub: HubSpotIntake) -> None:
    await hub.lead("bo@example.com", hubspot_id="501")
    events = [last_contacted(501, at_ms=now_ms())]
    forged = await hub.webhook(events, secret="guessed")
    stale = await hub.webhook(events, at_ms=now_ms() - 301_000)
    future = await hub.webhook(events, at_ms=now_ms() + 301_000)
    unsigned = await hub.http.post(PATH, json=events)
    tampered = signed(events, hub.base_url + PATH)
    tampered["content"] = tampered["content"].replace(b"501", b"502")
    other_body = await hub.http.post(PATH, **tampered)
    assert [r.status_code for r in (forged, stale, future, unsigned, other_body)] == [401] * 5
    assert "5 minutes" in stale.json()["detail"]
    assert await count_rows(hub.intake, tables.activities) == 0
    assert await count_rows(hub.intake, tables.unmatched_activities) == 0


async def test_without_a_client_secret_the_integration_answers_404_naming_the_variable(intake: Intake) -> None:
    answer = await intake.http.post(PATH, **signed([last_contacted(1, at_ms=now_ms())], "http://x" + PATH))
    assert answer.status_code == 404
    assert "HUBSPOT_CLIENT_SECRET" in answer.json()["detail"]


async def test_the_signed_uri_is_intake_public_url_when_set(databases: DatabaseFactory, kafka_bootstrap: str) -> None:
    public = "https://leads.example.com"
    async with running(databases, kafka_bootstrap, FakeHubSpot(), intake_public_url=public + "/") as hub:
        await hub.lead("cy@example.com", hubspot_id="77")
        events = [last_contacted(77, at_ms=now_ms())]
        as_seen_locally = await hub.webhook(events)
        as_hubspot_called = await hub.http.post(PATH, **signed(events, public + PATH))
        assert as_seen_locally.status_code == 401
        assert as_hubspot_called.status_code == 200 and as_hubspot_called.json()["accepted"] == 1


async def test_a_target_url_with_a_query_is_signed_with_hubspots_decoding(hub: HubSpotIntake) -> None:
    """HubSpot signs the URI with ``%3A`` and friends decoded, every other escape (``%20``) as it was sent."""
    await hub.lead("cy.query@example.com", hubspot_id="78")
    events = [last_contacted(78, at_ms=now_ms())]
    sent = PATH + "?portal=eu%3A1&note=a%20b"
    as_hubspot_signs = signed(events, hub.base_url + PATH + "?portal=eu:1&note=a%20b")
    as_sent = signed(events, hub.base_url + sent)
    accepted = await hub.http.post(sent, **as_hubspot_signs)
    assert accepted.status_code == 200, accepted.text
    assert (await hub.http.post(sent, **as_sent)).status_code == 401


async def test_a_batch_with_bad_events_keeps_the_good_ones(hub: HubSpotIntake) -> None:
    lead_id = await hub.lead("di@example.com", hubspot_id="601")
    owner_change = {**last_contacted(601, at_ms=now_ms()), "propertyName": "hubspot_owner_id", "propertyValue": "41"}
    answer = await hub.webhook([
        {**last_contacted(601, at_ms=now_ms()), "objectId": "not-an-id"},
        "garbage",
        last_contacted(601, at_ms=now_ms() - 5_000),
        owner_change,
        {**last_contacted(601, at_ms=now_ms()), "propertyName": "lifecyclestage", "propertyValue": "lead"},
        {**last_contacted(601, at_ms=now_ms()), "subscriptionType": "deal.creation"},
    ])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["rejected"], body["skipped"]) == (2, 2, 2)
    assert [e["index"] for e in body["errors"]] == [0, 1]
    stored = await hub.activities()
    assert {(a["type"], a["lead_id"]) for a in stored} == {("call", lead_id), ("status_change", lead_id)}
    [owner] = [a for a in stored if a["type"] == "status_change"]
    assert owner["status"] == "owner_changed" and owner["rep_id"] == "41"


async def test_a_batch_over_100_events_is_refused_whole(hub: HubSpotIntake) -> None:
    await hub.lead("ed@example.com", hubspot_id="701")
    base = now_ms()
    events = [last_contacted(701, at_ms=base - i) for i in range(101)]  # 101 distinct changes
    answer = await hub.webhook(events)
    assert answer.status_code == 413 and "100" in answer.json()["detail"]
    assert await count_rows(hub.intake, tables.activities) == 0
    hundred = await hub.webhook(events[:100])
    assert hundred.status_code == 200 and hundred.json()["accepted"] == 100


async def test_an_event_for_an_unknown_contact_is_parked_then_applied_when_a_lead_gets_that_id(
        hub: HubSpotIntake) -> None:
    touched_ms = now_ms() - 30_000
    answer = await hub.webhook([last_contacted(880, at_ms=touched_ms)])
    assert answer.status_code == 200 and answer.json()["unmatched"] == 1
    assert await count_rows(hub.intake, tables.activities) == 0
    assert await count_rows(hub.intake, tables.unmatched_activities) == 1

    lead_id = await hub.lead("fay@example.com", hubspot_id="880")
    async with TopicReader(hub.intake.kafka, topics.LEADS_ACTIVITY) as reader:
        [published] = await reader.wait_for(lambda e: e.type == "activity.recorded" and e.subject == lead_id)
    data = parse_data(published)
    assert isinstance(data, ActivityRecorded) and data.is_outbound_touch
    assert int(data.occurred_at.timestamp() * 1000) == touched_ms
    assert await count_rows(hub.intake, tables.unmatched_activities) == 0


async def test_created_calls_and_emails_are_resolved_through_hubspots_api_and_an_inbound_email_is_no_touch(
        hub: HubSpotIntake) -> None:
    lead_id = await hub.lead("gus@example.com", hubspot_id="901")
    hub.api.objects[("calls", "51234")] = {"hs_call_direction": "OUTBOUND", "hs_timestamp": "2026-11-27T08:59:30Z",
                                           "hubspot_owner_id": "41", "hs_call_body": "never read"}
    hub.api.contacts[("calls", "51234")] = [901]
    hub.api.objects[("emails", "61234")] = {"hs_email_direction": "INCOMING_EMAIL",
                                            "hs_timestamp": "2026-11-27T09:10:00Z"}
    hub.api.contacts[("emails", "61234")] = [901]
    occurred = now_ms()
    answer = await hub.webhook([created("0-48", 51234, occurred_ms=occurred),
                                created("0-49", 61234, occurred_ms=occurred),
                                created("0-48", 99999, occurred_ms=occurred)])  # deleted since: 404
    assert answer.status_code == 200, answer.text
    assert (answer.json()["accepted"], answer.json()["skipped"]) == (2, 1)

    stored = {a["type"]: a for a in await hub.activities()}
    assert stored["call"]["direction"] == "outbound" and stored["call"]["rep_id"] == "41"
    assert stored["call"]["lead_id"] == lead_id and stored["call"]["occurred_at"].startswith("2026-11-27T08:59:30")
    assert stored["email"]["direction"] == "inbound"  # recorded, but no touch
    assert "/crm/v4/objects/calls/51234/associations/contacts" in hub.api.requests

    async with TopicReader(hub.intake.kafka, topics.LEADS_ACTIVITY) as reader:
        events = await reader.wait_for(lambda e: e.type == "activity.recorded" and e.subject == lead_id, count=2)
    touches = [d for d in map(parse_data, events) if isinstance(d, ActivityRecorded) and d.is_outbound_touch]
    assert [t.type for t in touches] == ["call"]


async def test_without_an_access_token_created_engagements_are_acknowledged_and_skipped(
        databases: DatabaseFactory, kafka_bootstrap: str) -> None:
    api = FakeHubSpot()
    async with running(databases, kafka_bootstrap, api, hubspot_access_token=None) as hub:
        await hub.lead("hal@example.com", hubspot_id="902")
        answer = await hub.webhook([created("0-48", 51234, occurred_ms=now_ms())])
        assert answer.status_code == 200 and answer.json()["skipped"] == 1
        assert api.requests == [] and await count_rows(hub.intake, tables.activities) == 0


async def test_when_hubspots_api_is_slow_the_answer_stays_fast_stores_the_rest_and_asks_for_a_retry(
        databases: DatabaseFactory, kafka_bootstrap: str) -> None:
    api = FakeHubSpot(delay=10.0)
    api.objects[("calls", "51234")] = {"hs_call_direction": "OUTBOUND"}
    api.contacts[("calls", "51234")] = [903]
    async with running(databases, kafka_bootstrap, api) as hub:
        await hub.lead("ida@example.com", hubspot_id="903")
        events = [created("0-48", 51234, occurred_ms=now_ms()), last_contacted(903, at_ms=now_ms())]
        started = time.monotonic()
        answer = await hub.webhook(events)
        assert time.monotonic() - started < 4.5  # HubSpot gives up after 5 s
        assert answer.status_code == 503 and answer.headers["Retry-After"]
        assert answer.json()["accepted"] == 1  # the last-contacted touch is stored all the same

        # HubSpot delivers the batch again once the API answers: the call is recorded, the touch is not doubled.
        api.delay = 0.0
        retried = await hub.webhook(events)
        assert retried.status_code == 200 and (retried.json()["accepted"], retried.json()["duplicate"]) == (1, 1)
        stored = await hub.activities()
        assert sorted(a["outcome"] or "logged call" for a in stored) == ["logged call", "notes_last_contacted"]


async def test_when_hubspots_api_is_unreachable_the_batch_is_answered_503(
        databases: DatabaseFactory, kafka_bootstrap: str) -> None:
    from devstack.broker import free_port

    async with running(databases, kafka_bootstrap, FakeHubSpot(),
                       hubspot_api_url=f"http://127.0.0.1:{free_port()}") as hub:
        answer = await hub.webhook([created("0-49", 61234, occurred_ms=now_ms())])
        assert answer.status_code == 503 and "unreachable" in answer.json()["detail"]
        assert await count_rows(hub.intake, tables.activities) == 0
