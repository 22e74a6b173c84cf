"""An intake with the Salesforce, Pipedrive and Close integrations configured, and what they stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import select

from intake import tables
from intake.main import create_app
from shared.db import create_engine
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import API_KEY, Intake, intake_settings, migrated
from tests.support import serve
from tests.unit.intake.crm_examples import SF_ORG_ID

SF_TOKEN = "sf-path-token-7b1d"
PD_USER, PD_PASSWORD = "pipedrive-hook", "pd-secret-4e2a"
CLOSE_KEY = "6465762d636c6f73652d6b6579"

CRM_SETTINGS: dict[str, object] = {
    "salesforce_outbound_token": SF_TOKEN, "salesforce_org_id": SF_ORG_ID,
    "pipedrive_webhook_user": PD_USER, "pipedrive_webhook_password": PD_PASSWORD,
    "close_signature_key": CLOSE_KEY,
}


@asynccontextmanager
async def running_crm_intake(databases: DatabaseFactory, kafka_bootstrap: str) -> AsyncIterator[Intake]:
    """For each test module's ``crm_intake`` fixture."""
    settings = intake_settings(await migrated(databases), kafka_bootstrap, **CRM_SETTINGS)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": API_KEY}) as http:
        yield Intake(http=http, settings=settings, kafka=kafka_bootstrap)


async def rows(intake: Intake, table: Any) -> list[Any]:
    engine = create_engine(intake.settings.intake_database_url, schema=intake.settings.intake_database_schema)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(table))).all())
    finally:
        await engine.dispose()


async def recorded_events(intake: Intake) -> list[dict[str, Any]]:
    """The ``activity.recorded`` events queued in the outbox (CloudEvents, in order)."""
    events = [json.loads(row.payload) for row in sorted(await rows(intake, tables.outbox), key=lambda r: r.id)]
    return [event for event in events if event["type"] == "activity.recorded"]


async def new_lead(intake: Intake, email: str, **external_ids: str) -> str:
    answer = await intake.http.post("/v1/leads", json={"email": email, "source": "web_form",
                                                       "external_ids": external_ids})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["lead_id"])


async def drop_activity_tables(intake: Intake) -> None:
    """Make storing impossible (a broken database), to see that nothing is acknowledged."""
    engine = create_engine(intake.settings.intake_database_url, schema=intake.settings.intake_database_schema)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: tables.unmatched_activities.drop(sync))
    finally:
        await engine.dispose()
