"""Changing the routing document, simulating, and rep availability, over real HTTP."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from lead_router.main import create_app
from shared.versioned import SeedError
from tests.conftest import DatabaseFactory
from tests.integration.lead_router.conftest import (
    DOCUMENT,
    Router,
    assignment_of,
    migrated,
    router_settings,
    send_lead,
    write_document,
)
from tests.support import eventually


async def test_a_new_document_applies_to_the_next_lead_without_restart(router: Router) -> None:
    changed = copy.deepcopy(DOCUMENT)
    changed["rules"][0]["team"] = "desk"
    answer = await router.http.put("/v1/routing/config", content=yaml.safe_dump(changed),
                                   headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 200 and answer.json()["version"] == 2
    await send_lead(router.kafka, "after-swap", country="US", intent="demo_request")
    current = (await eventually(assignment_of(router, "after-swap")))["current"]
    assert current["team"] == "desk" and current["config_version"] == 2
    versions = (await router.http.get("/v1/routing/config/versions")).json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]


async def test_an_invalid_document_lists_every_problem_by_path_and_changes_nothing(router: Router) -> None:
    broken = copy.deepcopy(DOCUMENT)
    broken["teams"][0]["strategy"] = "coin_flip"
    broken["teams"][1]["reps"][0]["timezone"] = "Mars/Olympus"
    broken["rules"][0]["match"]["employees"] = {"min": 500, "max": 10}
    answer = await router.http.put("/v1/routing/config", json=broken)
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json()["errors"]}
    assert fields == {"teams[0].strategy", "teams[1].reps[0].timezone", "rules[0].match.employees"}
    unknown = copy.deepcopy(DOCUMENT)
    unknown["rules"][0]["team"] = "nobody"
    answer = await router.http.put("/v1/routing/config", json=unknown)
    assert answer.json()["errors"] == [{"field": "rules[0].team", "message": "unknown team 'nobody'"}]
    assert (await router.http.get("/v1/routing/config")).json()["version"] == 1


async def test_simulate_explains_the_decision_and_changes_nothing(router: Router) -> None:
    lead = {"country": "US", "intent": "demo_request", "source": "web_form"}
    first = (await router.http.post("/v1/routing/simulate", json=lead)).json()
    second = (await router.http.post("/v1/routing/simulate", json=lead)).json()
    assert first == second
    assert (first["team"], first["rep_id"], first["urgency"], first["rule_id"]) == ("na", "rep-a", "hot", "us-demo")
    await send_lead(router.kafka, "real", **lead)
    real = (await eventually(assignment_of(router, "real")))["current"]
    assert real["rep_id"] == first["rep_id"] and real["explanation"] == first["explanation"]


async def test_a_rep_out_of_office_is_skipped_and_said_so(router: Router) -> None:
    answer = await router.http.patch("/v1/reps/rep-a", json={"out_of_office_until": "2099-12-01T00:00:00Z"})
    assert answer.status_code == 200 and answer.json()["out_of_office_until"].startswith("2099-12-01")
    decision = (await router.http.post("/v1/routing/simulate", json={"country": "US", "intent": "demo_request"})).json()
    assert decision["rep_id"] == "rep-b"
    assert "rep-a out of office until 2099-12-01" in decision["explanation"][-1]
    assert (await router.http.patch("/v1/reps/rep-nobody", json={"active": False})).status_code == 404


async def test_admin_endpoints_need_the_bearer_token(router: Router) -> None:
    for token in ("", "Bearer wrong"):
        answer = await router.http.get("/v1/routing/config", headers={"Authorization": token})
        assert answer.status_code == 401


async def test_a_router_with_an_invalid_routing_file_refuses_to_start(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    broken = copy.deepcopy(DOCUMENT)
    broken["fallback"]["team"] = "nobody"
    settings = router_settings(await migrated(databases), kafka_bootstrap, write_document(tmp_path, broken))
    with pytest.raises(SeedError, match="fallback.team: unknown team 'nobody'"):
        async with create_app(settings).router.lifespan_context(None):  # type: ignore[arg-type]
            pass
