"""Fixtures with real infrastructure: a fresh embedded broker per test and a fresh database per test, so tests
share nothing and `make test` can run them on several pytest-xdist workers at once.

Set TEST_DATABASE_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test) to run every
database-backed test on PostgreSQL as well as on SQLite.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from devstack.broker import free_port, start_broker

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
#: A PostgreSQL test database named after a service defaults to that service's schema (*_DATABASE_SCHEMA).
SERVICE_SCHEMAS = {"intake", "router", "sla_monitor"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`, ``--dist loadgroup``) the e2e tests run on two workers, one after another
    on each: every one starts three services as processes, and more of those stacks starting at once on two
    cores stretch the seconds-long SLA windows they check. The API fuzzing and the browser tests (about half of
    the e2e time) have one of the two; the other tests spread over the remaining workers around them."""
    for item in items:
        if item.get_closest_marker("e2e"):
            second = item.path.name == "test_openapi_fuzz.py" or item.path.parent.name == "browser"
            item.add_marker(pytest.mark.xdist_group("e2e-fuzz-browser" if second else "e2e"))


@pytest.fixture
def kafka_bootstrap() -> Iterator[str]:
    """A brand-new, empty broker on a free port (memory only, starts in milliseconds)."""
    port = free_port()
    process = start_broker(port)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _database_params() -> list[object]:
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres, pytest.mark.skipif(
            not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")]),
    ]


def _admin_execute(url: str, sql: str) -> None:
    """Run one statement on the admin database, from sync or async code (in a thread with its own loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _admin_execute_async(url, sql)).result()


async def _admin_execute_async(url: str, sql: str) -> None:
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(user=parsed.username, password=parsed.password, host=parsed.host,
                                 port=parsed.port or 5432, database=parsed.database)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class DatabaseFactory:
    """Creates empty databases for one test: a SQLite file, or a new PostgreSQL database."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self._tmp_path = tmp_path
        self._created: list[str] = []

    def new(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite+aiosqlite:///{self._tmp_path / f'{name}.db'}"
        assert TEST_DATABASE_URL
        db_name = f"lr_{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
        _admin_execute(TEST_DATABASE_URL, f'CREATE DATABASE "{db_name}"')
        self._created.append(db_name)
        schema = name.replace("-", "_")
        if schema in SERVICE_SCHEMAS:
            # The services set their own search_path; this is for a test's own engine that peeks at the tables
            # (as psql would). tests/e2e/test_one_database.py runs all three without this default.
            _admin_execute(TEST_DATABASE_URL, f'ALTER DATABASE "{db_name}" SET search_path TO "{schema}", public')
        return make_url(TEST_DATABASE_URL).set(database=db_name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for db_name in self._created:
            _admin_execute(TEST_DATABASE_URL or "", f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


@pytest.fixture(params=_database_params())
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseFactory]:
    """Parametrizes a test over SQLite and PostgreSQL; ``databases.new("intake")`` gives an empty DB URL."""
    factory = DatabaseFactory(request.param, tmp_path)
    try:
        yield factory
    finally:
        factory.drop_all()
