"""Nobody eligible: the lead waits in the team's queue (visible), then goes to the first rep who becomes
available or to the fallback team after the team's wait. Returning contacts go to their owner."""

from __future__ import annotations

import copy
from pathlib import Path

import httpx

from lead_router.main import create_app
from tests.conftest import DatabaseFactory
from tests.integration.lead_router.conftest import (
    ADMIN,
    DOCUMENT,
    Router,
    assignment_of,
    migrated,
    router_settings,
    send_lead,
    write_document,
)
from tests.support import eventually, serve


async def _queued(router: Router, lead_id: str) -> dict[str, object]:
    async def probe() -> dict[str, object] | None:
        body = await assignment_of(router, lead_id)()
        return body if body and body["state"] == "queued" else None

    return await eventually(probe, what=f"{lead_id} to wait in the queue")


async def test_a_queued_lead_is_assigned_as_soon_as_a_rep_comes_back(router: Router) -> None:
    for rep in ("rep-a", "rep-b", "rep-c"):
        assert (await router.http.patch(f"/v1/reps/{rep}", json={"active": False})).status_code == 200
    await send_lead(router.kafka, "waiting", country="US", intent="demo_request")
    body = await _queued(router, "waiting")
    assert body["current"]["rep_id"] is None and body["current"]["team"] == "na"  # type: ignore[index]
    assert "the lead waits in team na's queue" in body["current"]["explanation"]  # type: ignore[index]

    await router.http.patch("/v1/reps/rep-b", json={"active": True})
    current = (await eventually(assignment_of(router, "waiting")))["current"]
    assert (current["state"], current["rep_id"], current["team"]) == ("assigned", "rep-b", "na")
    history = (await assignment_of(router, "waiting")())["history"]
    assert [h["state"] for h in history] == ["superseded", "assigned"]
    assert history[1]["queued_at"] == history[0]["queued_at"]


async def test_a_queued_lead_goes_to_the_fallback_team_after_the_wait(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    document = copy.deepcopy(DOCUMENT)
    document["teams"][0]["queue_timeout_minutes"] = 0
    settings = router_settings(await migrated(databases), kafka_bootstrap, write_document(tmp_path, document),
                               queue_recheck_seconds=0.2)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
        router = Router(http=http, settings=settings, kafka=kafka_bootstrap)
        for rep in ("rep-a", "rep-b", "rep-c"):
            await http.patch(f"/v1/reps/{rep}", json={"active": False})
        await send_lead(kafka_bootstrap, "impatient", country="US", intent="demo_request")

        async def on_fallback() -> dict[str, object] | None:
            body = await assignment_of(router, "impatient")()
            return body if body and body["current"]["team"] == "desk" else None

        body = await eventually(on_fallback, what="the fallback team to take the lead")
        assert body["current"]["rep_id"] == "rep-x"  # type: ignore[index]
        assert "sent to team desk instead of na" in body["current"]["explanation"]  # type: ignore[index]


async def test_a_returning_contact_goes_to_the_rep_who_owns_it(router: Router) -> None:
    await send_lead(router.kafka, "first-touch", email="ana@fintastic.example", country="US",
                    intent="demo_request")
    owner = (await eventually(assignment_of(router, "first-touch")))["current"]["rep_id"]
    await send_lead(router.kafka, "filler", country="US", intent="demo_request")
    await eventually(assignment_of(router, "filler"))
    await send_lead(router.kafka, "came-back", email="ana@fintastic.example", country="US",
                    intent="demo_request")
    current = (await eventually(assignment_of(router, "came-back")))["current"]
    assert current["rep_id"] == owner
    assert current["explanation"][-1] == f"owner: {owner} owns this contact (same email as lead first-touch)"


async def test_rolling_back_is_putting_an_old_version_again(router: Router) -> None:
    changed = copy.deepcopy(DOCUMENT)
    changed["fallback"]["urgency"] = "cold"
    assert (await router.http.put("/v1/routing/config", json=changed)).json()["version"] == 2
    old = (await router.http.get("/v1/routing/config/versions/1")).json()["document"]
    answer = (await router.http.put("/v1/routing/config", json=old)).json()
    assert answer["version"] == 3 and answer["document"] == DOCUMENT
    await send_lead(router.kafka, "after-rollback", country="FR")
    current = (await eventually(assignment_of(router, "after-rollback")))["current"]
    assert current["urgency"] == "warm" and current["config_version"] == 3
