"""An intake service on a real database and a real broker, served over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Table, func, select

from intake.main import create_app
from intake.settings import IntakeSettings
from shared.db import create_engine, run_migrations
from tests.conftest import DatabaseFactory
from tests.support import serve

ALEMBIC_INI = Path(__file__).resolve().parents[3] / "services" / "intake" / "alembic.ini"
API_KEY = "test-key"
WEBHOOK_SECRET = "test-secret"
ADMIN_TOKEN = "test-admin"


@dataclass
class Intake:
    http: httpx.AsyncClient
    settings: IntakeSettings
    kafka: str


def intake_settings(database_url: str, kafka: str, **overrides: object) -> IntakeSettings:
    values: dict[str, object] = {
        "intake_database_url": database_url, "kafka_bootstrap_servers": kafka,
        "intake_api_keys": f"website:{API_KEY}", "crm_webhook_secret": WEBHOOK_SECRET,
        "admin_token": ADMIN_TOKEN, "kafka_session_timeout_ms": 2000, "outbox_poll_interval": 0.1,
    }
    values.update(overrides)
    return IntakeSettings(**values)  # type: ignore[arg-type]


async def migrated(databases: DatabaseFactory) -> str:
    url = databases.new("intake")
    await asyncio.to_thread(run_migrations, ALEMBIC_INI, url)
    return url


async def count_rows(intake: Intake, table: Table) -> int:
    engine = create_engine(intake.settings.intake_database_url, schema=intake.settings.intake_database_schema)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
    finally:
        await engine.dispose()


@pytest.fixture
async def intake(databases: DatabaseFactory, kafka_bootstrap: str) -> AsyncIterator[Intake]:
    settings = intake_settings(await migrated(databases), kafka_bootstrap)
    async with serve(create_app(settings)) as base_url, httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": API_KEY}) as http:
        yield Intake(http=http, settings=settings, kafka=kafka_bootstrap)
