"""The delivery log across every target and sending a delivery again (``GET /v1/deliveries``,
``POST /v1/deliveries/{id}/resend``): a failed webhook is listed with its channel, resent at once with the same
event id, and what cannot be resent says why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from shared import db
from sla_monitor import tables
from sla_monitor.main import create_app
from sla_monitor.settings import SlaMonitorSettings
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import (
    ADMIN,
    FAST_POLICIES,
    Receiver,
    assigned,
    consuming,
    migrated,
    monitor_settings,
    send,
)
from tests.support import eventually, serve


@dataclass
class Setup:
    http: httpx.AsyncClient
    settings: SlaMonitorSettings
    kafka: str
    receiver: Receiver
    subscription_id: str


@pytest.fixture
async def failing(databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Setup]:
    """An sla-monitor whose one webhook subscriber answers 500, and that gives a delivery one attempt."""
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies, delivery_max_attempts=1)
    receiver = Receiver(status=500)
    app = create_app(settings)
    async with serve(receiver.app()) as hook_base, serve(app) as base_url, \
            httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
        await consuming(app)
        created = (await http.post("/v1/subscriptions", json={"url": hook_base + "/hook"})).json()
        yield Setup(http=http, settings=settings, kafka=kafka_bootstrap, receiver=receiver,
                    subscription_id=created["id"])


async def _listed(setup: Setup, lead_id: str, state: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        answer = await setup.http.get("/v1/deliveries", params={"state": state})
        assert answer.status_code == 200, answer.text
        return next((d for d in answer.json()["deliveries"] if d["lead_id"] == lead_id), None)

    return await eventually(probe, what=f"a {state} delivery for {lead_id}")


async def _set_state(setup: Setup, delivery_id: int, state: str) -> None:
    engine = db.create_engine(setup.settings.sla_monitor_database_url,
                              schema=setup.settings.sla_monitor_database_schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(tables.deliveries).where(tables.deliveries.c.id == delivery_id)
                               .values(state=state))
    finally:
        await engine.dispose()


async def test_a_failed_delivery_is_listed_and_resent_at_once_with_the_same_event_id(failing: Setup) -> None:
    await send(failing.kafka, assigned("resend-me"))
    failed = await _listed(failing, "resend-me", "failed")
    assert failed["channel"] == "cloudevents" and failed["subscription_id"] == failing.subscription_id
    assert failed["attempts"] == 1 and failed["last_status"] == 500 and failed["event_type"] == "sla.breached"

    failing.receiver.status = 204
    answer = await failing.http.post(f"/v1/deliveries/{failed['id']}/resend")
    assert answer.status_code == 202 and answer.json() == {"id": failed["id"], "state": "pending"}
    delivered = await _listed(failing, "resend-me", "delivered")
    assert delivered["id"] == failed["id"] and delivered["attempts"] == 1 and delivered["last_status"] == 204
    ids = [headers["webhook-id"] for headers, _ in failing.receiver.deliveries]
    assert len(ids) == 2 and ids[0] == ids[1]


async def test_what_cannot_be_resent_answers_404_or_409_with_the_reason(failing: Setup) -> None:
    assert (await failing.http.post("/v1/deliveries/999999/resend")).status_code == 404
    assert (await failing.http.post("/v1/deliveries/0/resend")).status_code == 422
    await send(failing.kafka, assigned("not-again"))
    failed = await _listed(failing, "not-again", "failed")

    await _set_state(failing, failed["id"], "superseded")
    answer = await failing.http.post(f"/v1/deliveries/{failed['id']}/resend")
    assert answer.status_code == 409 and "superseded" in answer.json()["detail"]

    await _set_state(failing, failed["id"], "pending")
    answer = await failing.http.post(f"/v1/deliveries/{failed['id']}/resend")
    assert answer.status_code == 409 and "already waiting" in answer.json()["detail"]

    await _set_state(failing, failed["id"], "failed")
    assert (await failing.http.delete(f"/v1/subscriptions/{failing.subscription_id}")).status_code == 204
    answer = await failing.http.post(f"/v1/deliveries/{failed['id']}/resend")
    assert answer.status_code == 409 and "deleted or disabled" in answer.json()["detail"]


async def test_the_log_filters_by_state_and_channel_and_needs_the_admin_token(failing: Setup) -> None:
    await send(failing.kafka, assigned("filtered"))
    await _listed(failing, "filtered", "failed")
    assert (await failing.http.get("/v1/deliveries", params={"state": "delivered"})).json() == {"deliveries": []}
    assert (await failing.http.get("/v1/deliveries", params={"channel": "slack"})).json() == {"deliveries": []}
    by_channel = (await failing.http.get("/v1/deliveries", params={"channel": "cloudevents"})).json()["deliveries"]
    assert [d["lead_id"] for d in by_channel] == ["filtered"]
    bad = await failing.http.get("/v1/deliveries", params={"state": "lost"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.state"
    plain = {"Authorization": ""}
    assert (await failing.http.get("/v1/deliveries", headers=plain)).status_code == 401
    assert (await failing.http.post("/v1/deliveries/1/resend", headers=plain)).status_code == 401
