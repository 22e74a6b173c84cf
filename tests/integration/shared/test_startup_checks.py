"""Before it serves, a service checks that its database holds its latest migration: behind is refused with
the command to run, a newer revision (a rollback, a rolling deploy) is served on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from shared.db import create_engine, run_migrations
from shared.startup import StartupFailure, check_database
from tests.conftest import DatabaseFactory

SLA_INI = Path(__file__).resolve().parents[3] / "services" / "sla-monitor" / "alembic.ini"


async def _set_revision(url: str, revision: str) -> None:
    engine = create_engine(url, schema="sla_monitor")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version_sla_monitor SET version_num = :r"), {"r": revision})
    finally:
        await engine.dispose()


def _check(url: str) -> None:
    check_database(url, schema="sla_monitor", alembic_ini=SLA_INI, command="python -m sla_monitor migrate")


async def test_a_database_at_the_latest_migration_or_a_newer_one_passes_and_one_behind_is_refused(
        databases: DatabaseFactory) -> None:
    url = databases.new("sla-monitor")
    await asyncio.to_thread(run_migrations, SLA_INI, url)
    await asyncio.to_thread(_check, url)

    await _set_revision(url, "9999_from_a_newer_release")
    await asyncio.to_thread(_check, url)

    await _set_revision(url, "0001")
    with pytest.raises(StartupFailure, match=r"is at revision 0001, expected .*; run `python -m sla_monitor migrate`"):
        await asyncio.to_thread(_check, url)
