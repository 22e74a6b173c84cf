"""The body of every service's ``alembic/env.py``: run migrations online over an async engine.

Each service records its revision in its own version table (``alembic_version_<service>``) and, on PostgreSQL,
keeps its tables in its own schema, so one database can host all three services. A database migrated before
this layout (tables and ``alembic_version`` in ``public``, or the only tables of a SQLite file) is adopted on
the next ``migrate``: the service's tables move into its schema and ``alembic_version`` becomes its version
table, in the same transaction as the migrations that follow.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection

from shared.db import create_engine
from shared.startup import StartupFailure

#: The version table every service shared before each got its own.
LEGACY_VERSION_TABLE = "alembic_version"


class DatabaseShared(StartupFailure):
    """Raised when a service's schema (or SQLite file) already holds another service's tables."""


def run_migrations(target_metadata: MetaData) -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "No database URL was given to alembic; run migrations through `python -m <service> migrate`.")
    schema = config.attributes.get("schema") or config.get_main_option("database_schema")
    version_table = config.attributes.get("version_table") or config.get_main_option("version_table")
    identifying = set((config.get_main_option("identifying_tables") or "").split())
    if not schema or not version_table or not identifying:
        raise RuntimeError("alembic.ini must name the service's version_table, database_schema and "
                           "identifying_tables.")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True,
                          version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata, schema, version_table, identifying))


async def _run_online(url: str, target_metadata: MetaData, schema: str, version_table: str,
                      identifying: set[str]) -> None:
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate, target_metadata, schema, version_table, identifying)
            await connection.commit()
    finally:
        await engine.dispose()


def _migrate(connection: Connection, target_metadata: MetaData, schema: str, version_table: str,
             identifying: set[str]) -> None:
    home = schema if connection.dialect.name == "postgresql" else None
    if home is not None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{home}"'))
    _adopt_legacy_layout(connection, target_metadata, home, version_table, identifying)
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      version_table=version_table, version_table_schema=home)
    with context.begin_transaction():
        context.run_migrations()


def _adopt_legacy_layout(connection: Connection, metadata: MetaData, home: str | None, version_table: str,
                         identifying: set[str]) -> None:
    """Refuse a namespace another service uses; take over this service's tables from the pre-schema layout."""
    where = f"schema '{home}'" if home else "SQLite file"
    tables = set(inspect(connection).get_table_names(schema=home))
    others = sorted(t for t in tables if t.startswith(LEGACY_VERSION_TABLE + "_") and t != version_table)
    if others:
        owner = others[0].removeprefix(LEGACY_VERSION_TABLE + "_")
        raise DatabaseShared(
            f"the {where} already holds the tables of service '{owner}'; give each service its own "
            "schema (*_DATABASE_SCHEMA) on PostgreSQL or its own file on SQLite.")
    if version_table in tables:
        return
    legacy = "public" if home is not None else None
    old = set(inspect(connection).get_table_names(schema=legacy))
    if LEGACY_VERSION_TABLE not in old or not identifying <= old:
        return  # nothing migrated yet, or the old version table belongs to another service
    if home is not None and home != legacy:
        for name in sorted((set(metadata.tables) | {LEGACY_VERSION_TABLE}) & old):
            connection.execute(text(f'ALTER TABLE "{legacy}"."{name}" SET SCHEMA "{home}"'))
    qualified = f'"{home}"."{LEGACY_VERSION_TABLE}"' if home else f'"{LEGACY_VERSION_TABLE}"'
    connection.execute(text(f'ALTER TABLE {qualified} RENAME TO "{version_table}"'))
