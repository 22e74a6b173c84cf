"""An intake with every lead source configured, over real HTTP on a real database, and what it stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from intake import tables
from intake.main import create_app
from intake.sources.mapping import REPO_ROOT
from shared.db import create_engine
from tests import source_payloads as docs
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import Intake, count_rows, intake_settings, migrated
from tests.support import serve

SECRETS = {"typeform_secret": docs.TYPEFORM_SECRET, "tally_signing_secret": docs.TALLY_SECRET,
           "google_ads_webhook_key": docs.GOOGLE_KEY, "zuddl_webhook_token": docs.ZUDDL_TOKEN,
           "sources_config_path": str(REPO_ROOT / "config" / "sources.yaml")}


@pytest.fixture
async def sources(databases: DatabaseFactory, kafka_bootstrap: str) -> AsyncIterator[Intake]:
    settings = intake_settings(await migrated(databases), kafka_bootstrap, **SECRETS)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        yield Intake(http=http, settings=settings, kafka=kafka_bootstrap)


@pytest.fixture
async def unconfigured(databases: DatabaseFactory, kafka_bootstrap: str) -> AsyncIterator[Intake]:
    settings = intake_settings(await migrated(databases), kafka_bootstrap)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        yield Intake(http=http, settings=settings, kafka=kafka_bootstrap)


async def received_events(intake: Intake) -> list[dict[str, Any]]:
    """The ``data`` of every ``lead.received`` in the outbox, oldest first."""
    engine = create_engine(intake.settings.intake_database_url, schema=intake.settings.intake_database_schema)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(tables.outbox.c.payload).order_by(tables.outbox.c.id))).all()
    finally:
        await engine.dispose()
    events = [json.loads(row.payload) for row in rows]
    return [event["data"] for event in events if event["type"] == "lead.received"]


async def stored_nothing(intake: Intake) -> bool:
    return all([await count_rows(intake, table) == 0
                for table in (tables.leads, tables.outbox, tables.source_leads)])
