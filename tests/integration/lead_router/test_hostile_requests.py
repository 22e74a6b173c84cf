"""A hostile or careless caller gets a 4xx naming the problem, never a 500, and cannot make the router read a
body it has not authorised or that is over the limit."""

from __future__ import annotations

import copy
import resource
from pathlib import Path

import httpx
import pytest
import yaml

from lead_router.main import create_app
from tests.conftest import DatabaseFactory
from tests.integration.lead_router.conftest import DOCUMENT, Router, migrated, router_settings, write_document
from tests.raw_http import chunks, exchange
from tests.support import serve

MiB = 1024 * 1024
HUGE = str(300 * MiB)


async def test_an_unauthenticated_huge_body_is_refused_before_it_is_read(router: Router) -> None:
    base = str(router.http.base_url)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for method, path in (("PUT", "/v1/routing/config"), ("POST", "/v1/routing/simulate"),
                         ("PATCH", "/v1/reps/rep-a")):
        declared = await exchange(base, method, path, {"Content-Length": HUGE, "Content-Type": "application/json"})
        assert (declared.status, declared.body_bytes_sent) == (401, 0)
        streamed = await exchange(base, method, path, {"Transfer-Encoding": "chunked"}, body=chunks(300 * MiB))
        assert streamed.status == 401 and streamed.body_bytes_sent < 2 * MiB
        assert declared.seconds < 2 and streamed.seconds < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 50 * 1024  # KiB: nothing buffered


async def test_an_authenticated_body_over_the_limit_is_a_413_before_it_is_read(router: Router) -> None:
    base, admin = str(router.http.base_url), {"Authorization": "Bearer test-admin"}
    declared = await exchange(base, "PUT", "/v1/routing/config", {**admin, "Content-Length": HUGE})
    assert (declared.status, declared.body_bytes_sent) == (413, 0)
    streamed = await exchange(base, "PUT", "/v1/routing/config", {**admin, "Transfer-Encoding": "chunked"},
                              body=chunks(300 * MiB))
    assert streamed.status == 413 and MiB <= streamed.body_bytes_sent < 3 * MiB  # the 1 MiB document limit
    small = await exchange(base, "POST", "/v1/routing/simulate", {**admin, "Transfer-Encoding": "chunked"},
                           body=chunks(300 * MiB))
    assert small.status == 413 and small.body_bytes_sent < MiB  # other bodies: 64 KiB
    assert (await router.http.get("/v1/routing/config")).status_code == 200  # still serving


async def test_the_previous_admin_token_stays_valid_during_a_rotation(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    settings = router_settings(await migrated(databases), kafka_bootstrap, write_document(tmp_path),
                               admin_token="new-admin", admin_token_previous="test-admin")
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        for header, status in (("Bearer new-admin", 200), ("Bearer test-admin", 200), ("Bearer other", 401),
                               ("Bearer", 401), ("test-admin", 401)):
            answer = await http.get("/v1/routing/config", headers={"Authorization": header})
            assert answer.status_code == status, header



async def test_guessing_the_admin_token_is_cut_off_at_the_limit(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    settings = router_settings(await migrated(databases), kafka_bootstrap, write_document(tmp_path),
                               auth_failure_limit=3)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        guesses = [(await http.get("/v1/reps", headers={"Authorization": f"Bearer guess-{n}"})).status_code
                   for n in range(4)]
        assert guesses == [401, 401, 401, 429]
        right = await http.get("/v1/routing/config", headers={"Authorization": "Bearer test-admin"})
        assert right.status_code == 429 and 55 <= int(right.headers["retry-after"]) <= 60
        assert (await http.get("/healthz")).status_code == 200


def _with(path: str, value: object) -> dict[str, object]:
    document = copy.deepcopy(DOCUMENT)
    target: dict[str, object] = document
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})  # type: ignore[index,assignment]
    target[last] = value
    return document


@pytest.mark.parametrize(("body", "content_type", "field", "problem"), [
    (b"[" * 60_000 + b"]" * 60_000, "application/json", "body", "nested deeper than"),
    (b'{"teams": ' + b"9" * 5_000 + b"}", "application/json", "body", "5000 digits"),
    (b"teams: .inf\n", "application/yaml", "body", "finite"),
    (b'a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n', "application/yaml", "body", "anchors and aliases"),
    (yaml.safe_dump(_with("ownership.lookback_days", 1_000_000)).encode(), "application/yaml",
     "ownership.lookback_days", "less than or equal to 3650"),
    (yaml.safe_dump(_with("teams.0.id", ["na", "x"])).encode(), "application/yaml", "teams[0].id", "string"),
    (yaml.safe_dump(_with("rules.0.id", ["us-demo"])).encode(), "application/yaml", "rules[0].id", "string"),
    (yaml.safe_dump(_with("teams.0.queue_timeout_minutes", 10**12)).encode(), "application/yaml",
     "teams[0].queue_timeout_minutes", "less than or equal to"),
])
async def test_a_malformed_routing_document_is_a_422_naming_the_problem(
        router: Router, body: bytes, content_type: str, field: str, problem: str) -> None:
    answer = await router.http.put("/v1/routing/config", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 422, answer.text
    assert any(e["field"] == field and problem in e["message"] for e in answer.json()["errors"]), answer.json()
    assert (await router.http.get("/v1/routing/config")).json()["version"] == 1  # nothing changed


async def test_huge_or_nul_path_parameters_are_4xx_not_database_errors(router: Router) -> None:
    for path in ("/v1/routing/config/versions/" + "1" + "0" * 30, "/v1/routing/config/versions/-5",
                 "/v1/assignments/lead%00one", "/v1/assignments/" + "x" * 1_000):
        answer = await router.http.get(path)
        assert answer.status_code == 422, (path, answer.text)
    assert (await router.http.patch("/v1/reps/rep%00a", json={"active": False})).status_code == 422
    assert (await router.http.get("/v1/routing/config/versions/99")).status_code == 404


async def test_a_simulated_lead_with_nul_bytes_or_absurd_numbers_is_a_4xx(router: Router) -> None:
    for body in ({"email": "ana\u0000@example.com"}, {"lead_id": "x\u0000"}, {"country": "U" * 5_000}):
        answer = await router.http.post("/v1/routing/simulate", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == next(iter(body))
    for raw, problem in ((b'{"employees": ' + b"9" * 5_000 + b"}", "more than 4300 digits"),
                         (b"[" * 30_000 + b"]" * 30_000, "nested too deeply")):
        answer = await router.http.post("/v1/routing/simulate", content=raw,
                                        headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and problem in answer.json()["detail"], answer.text


async def test_a_rep_capacity_too_large_for_the_database_is_a_422(router: Router) -> None:
    answer = await router.http.patch("/v1/reps/rep-a", json={"capacity": 10**30})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "capacity"
