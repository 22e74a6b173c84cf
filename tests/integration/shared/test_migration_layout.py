"""Each service keeps its own version table (and, on PostgreSQL, its own schema); a database migrated before
that layout is taken over on the next ``migrate`` without losing a row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select, text

from intake import tables as intake_tables
from shared.db import create_engine, migration_config, run_migrations
from tests.conftest import DatabaseFactory

SERVICES = Path(__file__).resolve().parents[3] / "services"
INTAKE_INI = SERVICES / "intake" / "alembic.ini"
ROUTER_INI = SERVICES / "router" / "alembic.ini"


def _migrate_the_old_way(ini: Path, url: str) -> None:
    """What ``migrate`` did before: one ``alembic_version`` and every table in ``public``."""
    config = migration_config(ini, url, schema="public")
    config.attributes["version_table"] = "alembic_version"
    command.upgrade(config, "head")


async def _layout(url: str, schema: str | None) -> tuple[set[str], list[str]]:
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names(schema=schema)))
            version_table = next((n for n in names if n.startswith("alembic_version")), None)
            versions = [] if version_table is None else list(
                (await conn.execute(text(f'SELECT version_num FROM "{version_table}"'))).scalars())
            return names, versions
    finally:
        await engine.dispose()


async def _store_lead(url: str, schema: str | None) -> None:
    engine = create_engine(url, schema=schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(intake_tables.leads).values(
                lead_id="lead-before-upgrade", email=None, phone="+15550100", source="web_form",
                submitted_by="website", data={}, received_at=datetime.now(UTC)))
    finally:
        await engine.dispose()


async def _lead_ids(url: str, schema: str | None) -> list[str]:
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(intake_tables.leads.c.lead_id))).scalars())
    finally:
        await engine.dispose()


async def test_a_database_migrated_before_per_service_version_tables_is_taken_over(
        databases: DatabaseFactory) -> None:
    url = databases.new("intake")
    postgres = databases.kind == "postgresql"
    old_home = "public" if postgres else None
    await asyncio.to_thread(_migrate_the_old_way, INTAKE_INI, url)
    await _store_lead(url, old_home)

    await asyncio.to_thread(run_migrations, INTAKE_INI, url)

    new_home = "intake" if postgres else None
    names, versions = await _layout(url, new_home)
    assert "alembic_version_intake" in names and "leads" in names and "alembic_version" not in names
    assert versions == ["0001"]
    assert await _lead_ids(url, new_home) == ["lead-before-upgrade"]
    if postgres:
        assert (await _layout(url, "public"))[0] == set()  # every intake table moved into schema intake


@pytest.mark.postgres
async def test_the_router_migrates_beside_the_tables_intake_left_in_public(databases: DatabaseFactory) -> None:
    """The issue's setup: intake migrated the old way into the one database; the router used to find intake's
    ``0001`` in ``alembic_version``, skip its own migrations and die at start."""
    if databases.kind != "postgresql":
        pytest.skip("schemas are a PostgreSQL feature; on SQLite each service keeps its own file")
    url = databases.new("shared")
    await asyncio.to_thread(_migrate_the_old_way, INTAKE_INI, url)

    await asyncio.to_thread(run_migrations, ROUTER_INI, url)
    router_names, router_versions = await _layout(url, "router")
    assert "alembic_version_router" in router_names and "assignments" in router_names
    assert router_versions == ["0001"]
    assert "alembic_version" in (await _layout(url, "public"))[0]  # intake's, left for intake to take over

    await asyncio.to_thread(run_migrations, INTAKE_INI, url)
    assert "alembic_version_intake" in (await _layout(url, "intake"))[0]
    assert (await _layout(url, "public"))[0] == set()
