"""Meta Lead Ads over real HTTP, against a local fake of the Graph API: the handshake, signed leadgen webhooks
answered at once, the lead fetched and stored exactly once (also when the Graph API is down for a while), forged
or unconfigured requests refused with nothing stored."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from intake import tables
from intake.main import retention_rules
from shared import topics
from shared.db import create_engine, create_session_factory
from shared.events import LeadReceived, parse_data
from shared.retention import purge
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import Intake, count_rows, intake_settings
from tests.integration.intake.lead_ads_support import (
    FakeProviderApi,
    fetch_rows,
    intake_on,
    new_database,
    provider_api,
    settled_fetch,
)
from tests.lead_ads_examples import (
    META_LEAD,
    META_LEADGEN_ID,
    META_TOKEN_ERROR,
    META_UNKNOWN_LEAD,
    META_WEBHOOK,
    copied,
)
from tests.support import TopicReader, eventually

VERIFY_TOKEN, APP_SECRET, PAGE_TOKEN = "test-meta-verify", "test-meta-secret", "test-page-token"


def signed(payload: dict[str, Any], *, secret: str = APP_SECRET) -> dict[str, Any]:
    body = json.dumps(payload, indent=1).encode()  # Meta's own spacing: the signature is over these exact bytes
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content": body, "headers": {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}}


@pytest.fixture
def graph() -> FakeProviderApi:
    return FakeProviderApi(prefix="/v21.0", leads={META_LEADGEN_ID: copied(META_LEAD)}, not_found=META_UNKNOWN_LEAD)


@pytest.fixture
async def meta(databases: DatabaseFactory, kafka_bootstrap: str, graph: FakeProviderApi) -> AsyncIterator[Intake]:
    url = await new_database(databases)
    async with provider_api(graph) as graph_url, intake_on(
            url, kafka_bootstrap, meta_verify_token=VERIFY_TOKEN, meta_app_secret=APP_SECRET,
            meta_page_access_token=PAGE_TOKEN, meta_graph_url=f"{graph_url}/v21.0") as intake:
        yield intake


async def test_the_verification_handshake_echoes_the_challenge_only_with_our_token(meta: Intake) -> None:
    ok = await meta.http.get("/v1/sources/meta", params={
        "hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN})
    assert ok.status_code == 200 and ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = await meta.http.get("/v1/sources/meta", params={
        "hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "guess"})
    assert wrong.status_code == 403 and "1158201444" not in wrong.text


async def test_a_signed_leadgen_is_answered_at_once_and_its_lead_fetched_stored_and_published(
        meta: Intake, graph: FakeProviderApi) -> None:
    started = time.monotonic()
    answer = await meta.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
    assert answer.status_code == 200 and time.monotonic() - started < 2.0
    promised = answer.json()["lead_id"]
    assert answer.json() == {"lead_id": promised, "lead_ids": [promised], "status": "accepted", "leads": 1, "new": 1}

    row = await settled_fetch(meta, META_LEADGEN_ID, state="done")
    # the lead is stored under the id the webhook was told
    assert row.lead_id == promised and row.attempts == 1 and row.notice["page_id"] == "153125381133"
    [request] = graph.fetched(META_LEADGEN_ID)
    assert request.query_params["access_token"] == PAGE_TOKEN
    assert "field_data" in request.query_params["fields"].split(",")
    assert request.query_params["appsecret_proof"] == hmac.new(
        APP_SECRET.encode(), PAGE_TOKEN.encode(), hashlib.sha256).hexdigest()

    lead = (await meta.http.get(f"/v1/leads/{row.lead_id}")).json()
    assert lead["email"] == "joe@example.com" and lead["source"] == "meta"
    assert (lead["first_name"], lead["last_name"], lead["campaign"]) == ("Joe", "Example", "Spring demo push")
    assert "Honda" in lead["notes"]  # car_make: not a lead field, kept in the notes
    assert lead["captured_at"].startswith("2015-02-28T08:49:14")
    async with TopicReader(meta.kafka, topics.LEADS_RECEIVED) as reader:
        [event] = await reader.wait_for(lambda e: e.subject == row.lead_id)
    data = parse_data(event)
    assert isinstance(data, LeadReceived) and data.email == "joe@example.com"


async def test_while_the_graph_api_fails_the_lead_waits_and_is_stored_once_it_recovers(
        meta: Intake, graph: FakeProviderApi) -> None:
    graph.fail_next = 3  # three 500s in a row, then the lead
    answer = await meta.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
    assert answer.status_code == 200

    row = await settled_fetch(meta, META_LEADGEN_ID, state="done")
    assert row.attempts == 4 and row.failure_kind is None
    assert len(graph.fetched(META_LEADGEN_ID)) == 4
    assert await count_rows(meta, tables.leads) == 1


async def test_a_stalled_fetch_holds_up_neither_the_webhook_nor_the_other_leads(
        meta: Intake, graph: FakeProviderApi) -> None:
    graph.stall[META_LEADGEN_ID] = 3.0
    graph.leads["555"] = {**copied(META_LEAD), "id": "555",
                          "field_data": [{"name": "email", "values": ["bo@example.com"]}]}
    started = time.monotonic()
    first = await meta.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
    assert first.status_code == 200 and time.monotonic() - started < 1.0  # not waiting on the Graph API
    await eventually(lambda: _fetched(graph, META_LEADGEN_ID), what="the stalled fetch to start")
    second = await meta.http.post("/v1/sources/meta", **signed(_webhook_for(["555"])))
    assert second.status_code == 200 and time.monotonic() - started < 1.5

    await settled_fetch(meta, "555", state="done", timeout=2.0)
    assert time.monotonic() - started < 2.5  # while the first lead's answer is still on its way
    assert [r.state for r in await fetch_rows(meta) if r.provider_lead_id == META_LEADGEN_ID] == ["pending"]
    await settled_fetch(meta, META_LEADGEN_ID, state="done")
    assert await count_rows(meta, tables.leads) == 2


async def _fetched(graph: FakeProviderApi, lead_id: str) -> bool:
    return bool(graph.fetched(lead_id))


async def test_a_repeated_webhook_stores_and_fetches_nothing_new(meta: Intake, graph: FakeProviderApi) -> None:
    first = await meta.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
    row = await settled_fetch(meta, META_LEADGEN_ID, state="done")
    again = await meta.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
    assert first.json()["new"] == 1 and again.status_code == 200 and again.json()["new"] == 0
    assert again.json()["lead_id"] == first.json()["lead_id"] == row.lead_id
    await meta.http.get("/healthz")  # give a (wrong) second fetch its chance
    assert len(graph.fetched(META_LEADGEN_ID)) == 1
    assert await count_rows(meta, tables.leads) == 1 and len(await fetch_rows(meta)) == 1
    assert (await settled_fetch(meta, META_LEADGEN_ID, state="done")).lead_id == row.lead_id


async def test_a_forged_or_missing_signature_is_refused_and_stores_nothing(
        meta: Intake, graph: FakeProviderApi) -> None:
    forged = await meta.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK), secret="guess"))
    request = signed(copied(META_WEBHOOK))
    tampered = await meta.http.post("/v1/sources/meta", content=request["content"] + b" ", headers=request["headers"])
    unsigned = await meta.http.post("/v1/sources/meta", json=copied(META_WEBHOOK))
    assert [r.status_code for r in (forged, tampered, unsigned)] == [401, 401, 401]
    assert "X-Hub-Signature-256" in unsigned.json()["detail"]
    assert await fetch_rows(meta) == [] and graph.requests == []


async def test_a_malformed_leadgen_change_is_a_422_naming_the_field(meta: Intake) -> None:
    payload = {"object": "page", "entry": [{"id": "1", "changes": [{"field": "leadgen", "value": {"page_id": 1}}]}]}
    answer = await meta.http.post("/v1/sources/meta", **signed(payload))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "entry.0.changes.0.value.leadgen_id"
    assert await fetch_rows(meta) == []


async def test_an_expired_token_keeps_the_lead_as_failed_with_the_reason_and_readiness_says_so(
        meta: Intake, graph: FakeProviderApi) -> None:
    graph.fail_next, graph.fail_status, graph.fail_body = 1, 400, META_TOKEN_ERROR
    await meta.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
    row = await settled_fetch(meta, META_LEADGEN_ID, state="failed")
    assert row.failure_kind == "auth" and "190" in row.last_error and row.next_attempt_at is not None
    assert await count_rows(meta, tables.leads) == 0

    async def degraded() -> str | None:
        check = (await meta.http.get("/readyz")).json()["checks"]["lead_fetches"]
        return check if "failed" in check else None

    assert "1 meta lead fetch(es) failed" in await eventually(degraded, what="readiness to show the failure")
    metrics = (await meta.http.get("/metrics")).text
    assert 'leadrouter_intake_lead_fetches_total{outcome="auth",provider="meta"}' in metrics


async def test_an_unknown_lead_id_is_kept_as_failed_and_not_retried(meta: Intake, graph: FakeProviderApi) -> None:
    payload = copied(META_WEBHOOK)
    payload["entry"][0]["changes"][0]["value"]["leadgen_id"] = "999"
    await meta.http.post("/v1/sources/meta", **signed(payload))
    row = await settled_fetch(meta, "999", state="failed")
    assert row.failure_kind == "invalid" and row.next_attempt_at is None and "Graph error 100/33" in row.last_error
    assert len(graph.fetched("999")) == 1


async def test_a_lead_the_mapping_refuses_is_kept_as_failed_naming_the_fields(
        meta: Intake, graph: FakeProviderApi) -> None:
    graph.leads[META_LEADGEN_ID]["field_data"] = [{"name": "full_name", "values": ["Joe Example"]}]
    await meta.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
    row = await settled_fetch(meta, META_LEADGEN_ID, state="failed")
    assert row.failure_kind == "unmapped" and row.next_attempt_at is None
    assert "refused" in row.last_error and "Joe" not in row.last_error
    assert len(graph.fetched(META_LEADGEN_ID)) == 1 and await count_rows(meta, tables.leads) == 0


async def test_without_the_page_token_the_webhook_is_stored_and_waits(databases: DatabaseFactory,
                                                                      kafka_bootstrap: str,
                                                                      graph: FakeProviderApi) -> None:
    url = await new_database(databases)
    async with provider_api(graph) as graph_url:
        async with intake_on(url, kafka_bootstrap, meta_app_secret=APP_SECRET,
                             meta_graph_url=f"{graph_url}/v21.0") as intake:
            answer = await intake.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
            assert answer.status_code == 200
            [row] = await fetch_rows(intake)
            assert row.state == "pending"

            async def waiting() -> str | None:
                check = (await intake.http.get("/readyz")).json()["checks"]["lead_fetches"]
                return check if "wait for" in check else None

            assert await eventually(waiting, what="readiness to name the token") \
                == "degraded: 1 meta lead(s) wait for META_PAGE_ACCESS_TOKEN to be set"
            assert graph.requests == []
        # The token is set and the service started again: the waiting lead is fetched.
        async with intake_on(url, kafka_bootstrap, meta_app_secret=APP_SECRET, meta_page_access_token=PAGE_TOKEN,
                             meta_graph_url=f"{graph_url}/v21.0") as intake:
            row = await settled_fetch(intake, META_LEADGEN_ID, state="done")
            assert row.lead_id and await count_rows(intake, tables.leads) == 1


async def test_an_unset_secret_is_a_404_naming_the_variable(databases: DatabaseFactory, kafka_bootstrap: str) -> None:
    async with intake_on(await new_database(databases), kafka_bootstrap) as intake:
        post = await intake.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
        get = await intake.http.get("/v1/sources/meta", params={"hub.mode": "subscribe", "hub.challenge": "1",
                                                                "hub.verify_token": "x"})
        assert post.status_code == 404 and "META_APP_SECRET" in post.json()["detail"]
        assert get.status_code == 404 and "META_VERIFY_TOKEN" in get.json()["detail"]
        assert await fetch_rows(intake) == []


def _webhook_for(lead_ids: list[str]) -> dict[str, Any]:
    changes = [{"field": "leadgen", "value": {"leadgen_id": lead_id, "page_id": "153125381133",
                                              "form_id": "12312312312", "created_time": 1440120384}}
               for lead_id in lead_ids]
    return {"object": "page", "entry": [{"id": "153125381133", "time": 1438292065, "changes": changes}]}


async def test_two_replicas_never_fetch_one_lead_twice(databases: DatabaseFactory, kafka_bootstrap: str) -> None:
    lead_ids = [str(700000 + i) for i in range(60)]
    leads = {}
    for n, lead_id in enumerate(lead_ids):
        lead = copied(META_LEAD)
        lead["id"] = lead_id
        lead["field_data"] = [{"name": "email", "values": [f"lead{n}@example.com"]}]
        leads[lead_id] = lead
    graph = FakeProviderApi(prefix="/v21.0", leads=leads, not_found=META_UNKNOWN_LEAD, delay=0.2)
    url = await new_database(databases)
    settings = {"meta_app_secret": APP_SECRET, "meta_page_access_token": PAGE_TOKEN}
    async with provider_api(graph) as graph_url, \
            intake_on(url, kafka_bootstrap, meta_graph_url=f"{graph_url}/v21.0", **settings) as first, \
            intake_on(url, kafka_bootstrap, meta_graph_url=f"{graph_url}/v21.0", **settings) as second:
        # Each replica gets part of the leads (a load balancer in front), and both fetch from the one table.
        answers = [await replica.http.post("/v1/sources/meta", **signed(_webhook_for(part)))
                   for replica, part in ((first, lead_ids[:30]), (second, lead_ids[30:]))]
        assert [a.json()["new"] for a in answers] == [30, 30]

        async def all_done() -> bool:
            return sum(r.state == "done" for r in await fetch_rows(first)) == len(lead_ids)

        await eventually(all_done, timeout=30, what="every lead to be fetched")
        assert sorted(r.path_params["lead_id"] for r in graph.requests) == sorted(lead_ids)
        assert await count_rows(first, tables.leads) == len(lead_ids)


async def test_done_fetches_expire_and_a_later_repeat_still_stores_no_second_lead(
        meta: Intake, graph: FakeProviderApi) -> None:
    await meta.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
    first = await settled_fetch(meta, META_LEADGEN_ID, state="done")
    graph.fail_next, graph.fail_status, graph.fail_body = 1, 400, META_TOKEN_ERROR
    payload = copied(META_WEBHOOK)
    payload["entry"][0]["changes"][0]["value"]["leadgen_id"] = "777"
    await meta.http.post("/v1/sources/meta", **signed(payload))
    await settled_fetch(meta, "777", state="failed")

    engine = create_engine(meta.settings.intake_database_url, schema=meta.settings.intake_database_schema)
    try:
        later = datetime.now(UTC) + timedelta(days=meta.settings.lead_fetch_retention_days + 1)
        deleted = await purge(create_session_factory(engine), retention_rules(meta.settings), now=later)
    finally:
        await engine.dispose()
    assert deleted["lead_fetches"] == 1
    assert [r.provider_lead_id for r in await fetch_rows(meta)] == ["777"]  # the failed one is kept

    again = await meta.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
    assert again.json()["new"] == 1  # the notice is new again, but the lead is not
    row = await settled_fetch(meta, META_LEADGEN_ID, state="done")
    assert row.lead_id == first.lead_id and await count_rows(meta, tables.leads) == 1


async def test_a_lead_refused_for_its_token_is_fetched_when_intake_starts_with_a_new_one(
        databases: DatabaseFactory, kafka_bootstrap: str, graph: FakeProviderApi) -> None:
    url = await new_database(databases)
    async with provider_api(graph) as graph_url:
        settings = {"meta_app_secret": APP_SECRET, "meta_graph_url": f"{graph_url}/v21.0"}
        graph.fail_next, graph.fail_status, graph.fail_body = 1, 400, META_TOKEN_ERROR
        async with intake_on(url, kafka_bootstrap, meta_page_access_token="expired-token", **settings) as intake:
            await intake.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
            failed = await settled_fetch(intake, META_LEADGEN_ID, state="failed")
            assert failed.failure_kind == "auth" and failed.next_attempt_at > datetime.now(UTC) + timedelta(minutes=59)
        async with intake_on(url, kafka_bootstrap, meta_page_access_token="new-token", **settings) as intake:
            row = await settled_fetch(intake, META_LEADGEN_ID, state="done")
            assert row.attempts == 2 and await count_rows(intake, tables.leads) == 1
            assert graph.fetched(META_LEADGEN_ID)[-1].query_params["access_token"] == "new-token"


async def test_no_answer_of_a_fetched_lead_reaches_a_log_line_or_a_stored_reason(
        meta: Intake, graph: FakeProviderApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    graph.leads["888"] = {**copied(META_LEAD), "id": "888", "field_data": [
        {"name": "email", "values": ["zed@@example.com"]}, {"name": "phone_number", "values": ["+1 415 555 0188"]},
        {"name": "full_name", "values": ["Zed Zebulon"]}]}
    graph.leads["999"] = {**copied(META_LEAD), "id": "999", "field_data": [
        {"name": "email", "values": ["yves@@example.com"]}, {"name": "full_name", "values": ["Yves Ygrec"]}]}
    await meta.http.post("/v1/sources/meta", **signed(_webhook_for(["888", "999"])))
    await settled_fetch(meta, "888", state="done")
    refused = await settled_fetch(meta, "999", state="failed")
    assert refused.failure_kind == "unmapped"
    for text in (caplog.text, refused.last_error):
        assert not [piece for piece in ("zed", "Zed", "yves", "Yves", "5550188", "555 0188") if piece in text], text


async def test_a_fetch_cut_short_by_a_stopping_replica_is_taken_over_when_its_lease_ends(
        databases: DatabaseFactory, kafka_bootstrap: str, graph: FakeProviderApi) -> None:
    graph.stall[META_LEADGEN_ID] = 1.5  # the first replica stops while waiting for this answer
    url = await new_database(databases)
    async with provider_api(graph) as graph_url:
        settings = {"meta_app_secret": APP_SECRET, "meta_page_access_token": PAGE_TOKEN,
                    "meta_graph_url": f"{graph_url}/v21.0", "lead_fetch_timeout_seconds": 1.0,
                    "lead_fetch_lease_seconds": 2.0}
        async with intake_on(url, kafka_bootstrap, **settings) as first:
            await first.http.post("/v1/sources/meta", **signed(copied(META_WEBHOOK)))
            await eventually(lambda: _fetched(graph, META_LEADGEN_ID), what="the first replica's fetch")
            claimed_at = time.monotonic()
        [row] = await fetch_rows(first)
        assert row.state == "pending" and row.claimed_until is not None and row.attempts == 0
        graph.stall.clear()
        async with intake_on(url, kafka_bootstrap, **settings) as second:
            row = await settled_fetch(second, META_LEADGEN_ID, state="done")
            assert time.monotonic() - claimed_at >= 1.5  # not before the first replica's lease ran out
            assert row.attempts == 1 and await count_rows(second, tables.leads) == 1
            assert len(graph.fetched(META_LEADGEN_ID)) == 2


def test_a_lease_shorter_than_two_fetch_timeouts_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="LEAD_FETCH_LEASE_SECONDS"):
        intake_settings("sqlite+aiosqlite:///unused.db", "127.0.0.1:1", lead_fetch_timeout_seconds=10,
                        lead_fetch_lease_seconds=15)
