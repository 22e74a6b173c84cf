"""Async SQLAlchemy plumbing: engine and session builders (no globals, no import-time I/O)."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Table, event, false, text, update
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

from shared import sqlite_driver
from shared.settings import SCHEMA_PATTERN


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Refusing to store a naive datetime; pass a timezone-aware one.")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: A PostgreSQL schema name a service accepts: lower case, digits and underscores, so it needs no quoting.
SCHEMA_NAME = re.compile(SCHEMA_PATTERN)


def create_engine(url: str, *, schema: str | None = None, **kwargs: Any) -> AsyncEngine:
    """Build an engine for ``url``; for SQLite, create the file's folder and turn on WAL.

    On PostgreSQL, ``schema`` becomes the connections' ``search_path``, so a service's tables live in its own
    schema and three services can share one database. SQLite has no schemas: each service keeps its own file.
    SQL errors never carry their parameters (emails, phones) into messages, logs or tracebacks.
    """
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer at a time. One connection per process makes writers queue in order inside
        # the process instead of sleeping in SQLite's busy handler, which multiplies tail latency under load.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        if parsed.database and not parsed.query:  # a plain file or :memory:, no driver options in the URL
            database = parsed.database
            kwargs.setdefault("async_creator", lambda: sqlite_driver.connect(database, timeout=30,
                                                                            check_same_thread=False))
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if schema is not None and parsed.get_backend_name() == "postgresql":
        if not SCHEMA_NAME.match(schema):
            raise ValueError(f"Schema name {schema!r} is not a plain lower-case identifier.")
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("server_settings", {})["search_path"] = schema
        kwargs["connect_args"] = connect_args
    return create_async_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def take_write_lock(session: AsyncSession, table: Table) -> None:
    """On SQLite, make the session's transaction a writer now: an UPDATE of ``table`` that matches no row takes
    the database's write lock, which its first write would take anyway. Its reads then run without a thread
    hop (``shared.sqlite_driver``) and see no other writer's commit in between. Nothing on PostgreSQL, which
    locks rows."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(_no_op_write(table))


@functools.cache
def _no_op_write(table: Table) -> Any:
    key = next(iter(table.primary_key.columns))
    return update(table).where(false()).values({key.name: key})


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database cannot answer a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def migration_config(alembic_ini: Path, url: str, *, schema: str | None = None) -> Any:
    """The alembic ``Config`` of one service: its scripts, ``url``, its own version table and its schema.

    ``alembic.ini`` names the service's version table (``version_table``) and default schema
    (``database_schema``); ``schema`` overrides the latter (the service's ``*_DATABASE_SCHEMA``).
    """
    from alembic.config import Config

    config = Config(str(alembic_ini))
    config.set_main_option("script_location", str(alembic_ini.parent / "alembic"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    config.attributes["schema"] = schema or config.get_main_option("database_schema")
    config.attributes["version_table"] = config.get_main_option("version_table")
    return config


def run_migrations(alembic_ini: Path, url: str, *, schema: str | None = None) -> None:
    """Apply every alembic migration of one service to ``url`` (blocking; run it in a thread from async code)."""
    from alembic import command

    command.upgrade(migration_config(alembic_ini, url, schema=schema), "head")
