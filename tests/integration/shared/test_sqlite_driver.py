"""The SQLite driver with one thread hop per statement, through SQLAlchemy on a real file: results, row counts,
RETURNING, errors, streamed long results, and the hop count itself."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared import sqlite_driver
from shared.db import create_engine, create_session_factory, take_write_lock

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String(50), unique=True))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


class _Hops:
    """Counts calls queued to the connection's thread."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = sqlite_driver.Connection._execute

        async def counted(connection: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(connection, fn, *args, **kwargs)

        monkeypatch.setattr(sqlite_driver.Connection, "_execute", counted)


async def test_a_statement_takes_one_hop_and_answers_like_sqlite(
        sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    async with sessions.begin() as session:
        ids = (await session.execute(insert(things).returning(things.c.id, sort_by_parameter_order=True),
                                     [{"name": f"thing-{n}"} for n in range(5)])).scalars().all()
    assert ids == sorted(ids) and len(ids) == 5

    hops = _Hops(monkeypatch)
    async with sessions.begin() as session:
        hops.count = 0
        names = (await session.execute(select(things.c.name).order_by(things.c.id))).scalars().all()
        assert hops.count == 1  # create cursor, execute, fetch and close: one call to the thread
        changed = await session.execute(update(things).where(things.c.id.in_(ids[:2])).values(name=things.c.name + "!"))
        assert changed.rowcount == 2  # type: ignore[attr-defined]
        assert await session.scalar(select(things.c.name).where(things.c.id == ids[0])) == "thing-0!"
    assert names == [f"thing-{n}" for n in range(5)]


async def test_an_error_is_sqlites_own_and_leaves_the_connection_usable(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await session.execute(insert(things).values(name="unique"))
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            await session.execute(insert(things).values(name="other"))
            await session.execute(insert(things).values(name="unique"))
    async with sessions() as session:  # the failed transaction left nothing behind, and the connection works
        assert (await session.execute(select(things.c.name))).scalars().all() == ["unique"]


async def test_a_result_longer_than_the_first_fetch_is_read_whole_and_streamed_in_chunks(
        sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    total = sqlite_driver.FIRST_ROWS * 2 + 7
    async with sessions.begin() as session:
        await session.execute(insert(things), [{"name": f"n{n:05d}"} for n in range(total)])
    async with sessions() as session:
        everything = (await session.execute(select(things.c.name).order_by(things.c.id))).scalars().all()
        assert everything == [f"n{n:05d}" for n in range(total)]
        assert await session.scalar(select(func.count()).select_from(things)) == total

        hops = _Hops(monkeypatch)
        streamed: list[str] = []
        result = await session.stream(select(things.c.name).order_by(things.c.id).execution_options(yield_per=300))
        async for partition in result.partitions():
            streamed.extend(row.name for row in partition)
            if len(streamed) == 300:
                assert hops.count == 1  # the first chunk came with the statement; the rest is still in SQLite
        assert streamed == everything
        assert hops.count == 3  # then the rest, in two fetches (and no hop to close what ended)


async def test_inside_a_write_transaction_statements_run_without_a_hop_and_no_other_writer_gets_in(
        engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    hops = _Hops(monkeypatch)
    async with sessions() as session:  # read-only work (a report) always goes to the thread
        for _ in range(3):
            await session.execute(select(things.c.id))
        assert hops.count == 3

    other = sqlite3.connect(tmp_path / "driver.db", timeout=0, isolation_level=None)
    try:
        async with sessions.begin() as session:
            hops.count = 0
            await take_write_lock(session, things)
            assert hops.count == 1  # the statement taking the lock may wait for it: on the thread
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # the lock is held from here on
            await session.execute(insert(things).values(name="inline"))
            assert await session.scalar(select(things.c.name).where(things.c.name == "inline")) == "inline"
            assert hops.count == 1  # a write and a read, both on the event loop
        assert hops.count == 2  # the commit (it waits for the disk) on the thread
        other.execute("BEGIN IMMEDIATE")  # released at commit
        other.execute("ROLLBACK")
    finally:
        other.close()
    async with sessions() as session:
        assert (await session.execute(select(things.c.name))).scalars().all() == ["inline"]
