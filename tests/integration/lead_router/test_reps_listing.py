"""GET /v1/reps over real HTTP: what ops see of each rep, and how a PATCH shows in it."""

from __future__ import annotations

from typing import Any

from tests.integration.lead_router.conftest import Router, assignment_of, send_lead
from tests.support import eventually


async def _reps(router: Router) -> dict[str, dict[str, Any]]:
    answer = await router.http.get("/v1/reps")
    assert answer.status_code == 200, answer.text
    assert answer.json()["config_version"] == 1
    return {r["rep_id"]: r for r in answer.json()["reps"]}


async def test_the_listing_has_every_rep_of_the_document_with_open_leads(router: Router) -> None:
    for lead_id in ("open-1", "open-2", "open-3"):
        await send_lead(router.kafka, lead_id, country="US", intent="demo_request")
        await eventually(assignment_of(router, lead_id))
    reps = await _reps(router)
    assert list(reps) == ["rep-a", "rep-b", "rep-c", "rep-x", "rep-y"]
    assert {r: reps[r]["open_leads"] for r in reps} == {"rep-a": 1, "rep-b": 1, "rep-c": 1, "rep-x": 0, "rep-y": 0}
    assert reps["rep-a"] == {"rep_id": "rep-a", "name": None, "team": "na", "teams": ["na"], "active": True,
                             "out_of_office_until": None, "capacity": None, "open_leads": 1, "timezone": "UTC",
                             "unavailable_reason": None}


async def test_availability_set_by_patch_shows_in_the_listing(router: Router) -> None:
    assert (await router.http.patch("/v1/reps/rep-c", json={"out_of_office_until": "2099-12-01T09:00:00+01:00"})
            ).status_code == 200
    assert (await router.http.patch("/v1/reps/rep-x", json={"active": False})).status_code == 200
    assert (await router.http.patch("/v1/reps/rep-y", json={"capacity": 0})).status_code == 200
    reps = await _reps(router)
    assert reps["rep-c"]["out_of_office_until"] == "2099-12-01T08:00:00+00:00"
    assert reps["rep-c"]["unavailable_reason"] == "rep-c out of office until 2099-12-01"
    assert (reps["rep-x"]["active"], reps["rep-x"]["unavailable_reason"]) == (False, "rep-x is inactive")
    assert (reps["rep-y"]["capacity"], reps["rep-y"]["unavailable_reason"]) == (0, "rep-y at capacity (0/0 open leads)")
    await router.http.patch("/v1/reps/rep-c", json={"out_of_office_until": None})
    assert (await _reps(router))["rep-c"]["out_of_office_until"] is None


async def test_the_listing_needs_the_bearer_token(router: Router) -> None:
    assert (await router.http.get("/v1/reps", headers={"Authorization": "Bearer wrong"})).status_code == 401
