"""Intake checks credentials on the headers alone, before it reads a body, and each path keeps its body limit
(the batch upload its larger one)."""

from __future__ import annotations

import httpx

from intake.main import create_app
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import ADMIN_TOKEN, API_KEY, Intake, intake_settings, migrated
from tests.raw_http import chunks, exchange
from tests.support import serve

MiB = 1024 * 1024
HUGE = str(300 * MiB)


async def test_an_unauthenticated_huge_body_is_refused_before_it_is_read(intake: Intake) -> None:
    base = str(intake.http.base_url)
    for path in ("/v1/leads", "/v1/leads/batch", "/v1/activities"):
        declared = await exchange(base, "POST", path, {"Content-Length": HUGE, "Content-Type": "application/json"})
        assert (declared.status, declared.body_bytes_sent) == (401, 0), path
        streamed = await exchange(base, "POST", path, {"Transfer-Encoding": "chunked", "X-API-Key": "wrong"},
                                  body=chunks(300 * MiB))
        assert streamed.status == 401 and streamed.body_bytes_sent < 2 * MiB, path


async def test_each_path_keeps_its_limit_and_refuses_a_stream_past_it(intake: Intake) -> None:
    base, key = str(intake.http.base_url), {"X-API-Key": API_KEY}
    lead = await exchange(base, "POST", "/v1/leads", {**key, "Transfer-Encoding": "chunked"}, body=chunks(300 * MiB))
    assert lead.status == 413 and lead.body_bytes_sent < MiB
    batch = await exchange(base, "POST", "/v1/leads/batch", {**key, "Transfer-Encoding": "chunked",
                                                             "Content-Type": "text/csv"}, body=chunks(300 * MiB))
    assert batch.status == 413 and 5 * MiB <= batch.body_bytes_sent < 8 * MiB


async def test_reading_a_lead_takes_a_key_or_the_admin_token(intake: Intake) -> None:
    for headers, status in (({"X-API-Key": API_KEY}, 404), ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, 404),
                            ({"X-API-Key": "wrong"}, 401), ({"Authorization": "Bearer nope"}, 401)):
        answer = await intake.http.get("/v1/leads/nobody", headers={"X-API-Key": "", **headers})
        assert answer.status_code == status, headers


async def test_both_admin_tokens_read_a_lead_during_a_rotation(databases: DatabaseFactory,
                                                               kafka_bootstrap: str) -> None:
    settings = intake_settings(await migrated(databases), kafka_bootstrap, admin_token="new-admin",
                               admin_token_previous=ADMIN_TOKEN)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        for token, status in (("new-admin", 404), (ADMIN_TOKEN, 404), ("other", 401)):
            answer = await http.get("/v1/leads/nobody", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == status, token


async def test_an_address_refused_twenty_times_a_minute_gets_429_even_with_the_right_key(intake: Intake) -> None:
    """Guessing API keys: the default limit (20 refusals a minute per address) blocks the address on every path
    that needs credentials, so a right guess past it is not even checked; paths without credentials still work."""
    lead = {"email": "ana@example.com", "company": "Fintastic"}
    for _ in range(20):
        assert (await intake.http.post("/v1/leads", json=lead, headers={"X-API-Key": "guess"})).status_code == 401
    blocked = await intake.http.post("/v1/leads", json=lead, headers={"X-API-Key": API_KEY})
    assert blocked.status_code == 429, blocked.text
    assert 55 <= int(blocked.headers["retry-after"]) <= 60
    assert "Too many refused credentials" in blocked.json()["detail"]
    admin = await intake.http.get("/v1/leads/nobody", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert admin.status_code == 429
    assert (await intake.http.get("/healthz")).status_code == 200


async def test_the_refusal_limit_is_a_setting(databases: DatabaseFactory, kafka_bootstrap: str) -> None:
    settings = intake_settings(await migrated(databases), kafka_bootstrap, auth_failure_limit=2,
                               auth_failure_window_seconds=300)
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as http:
        statuses = [(await http.post("/v1/leads", json={}, headers={"X-API-Key": "guess"})).status_code
                    for _ in range(3)]
        assert statuses == [401, 401, 429]
        blocked = await http.post("/v1/leads", json={}, headers={"X-API-Key": API_KEY})
        assert blocked.status_code == 429 and 295 <= int(blocked.headers["retry-after"]) <= 300


async def test_the_openapi_document_names_the_gate_answers_on_guarded_operations_only(intake: Intake) -> None:
    paths = (await intake.http.get("/openapi.json")).json()["paths"]
    for path, method in (("/v1/leads", "post"), ("/v1/leads/{lead_id}", "get"), ("/v1/admin/dlq", "get")):
        responses = paths[path][method]["responses"]
        assert {"401", "429"} <= responses.keys(), path
        assert "Retry-After" in responses["429"]["headers"]
    assert "429" not in paths["/healthz"]["get"]["responses"]
