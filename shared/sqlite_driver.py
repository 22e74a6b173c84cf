"""SQLite for asyncio with one thread hop per statement.

aiosqlite runs each SQLite call on the connection's own thread and hands the result back to the event loop.
Through SQLAlchemy a statement takes four such hops: create a cursor, execute, fetch the rows, close the
cursor. Each hop costs a queue put, a thread wake-up and a loop callback, fighting over the GIL with the
event loop; under load they were a third of each service's CPU. The cursor here does all four in one hop:
execute, fetch the first ``FIRST_ROWS`` rows and close, answering later fetches from memory. A bigger
result (a streamed backtest) keeps its SQLite cursor open and fetches the rest on demand, as before.

Inside a write transaction (after its first write statement, which may wait for SQLite's write lock and so
goes to the thread) statements run on the event loop itself: nothing can make them wait, and they touch only
the transaction's pages. ``shared.db.take_write_lock`` starts a write transaction first, so that its reads
run inline too. Commit and rollback always go to the thread: a commit waits for the disk. Read-only work
(reports, backtests), which may scan many rows, always runs on the thread.

It is an ``aiosqlite.Connection`` in every other respect, handed to SQLAlchemy's aiosqlite dialect through
``create_async_engine(async_creator=...)`` (``shared.db.create_engine`` does this for SQLite URLs).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from typing import Any

import aiosqlite

#: A statement's outcome: description, rowcount, lastrowid, first rows, the SQLite cursor if more rows are left.
_Answer = tuple[Any, int, int | None, list[Any], sqlite3.Cursor | None]

#: Rows fetched in the hop that executes the statement; a result this long or longer is fetched on demand.
FIRST_ROWS = 1000


class Cursor:
    """The part of ``aiosqlite.Cursor`` SQLAlchemy uses, with execute, first fetch and close in one hop."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._open: sqlite3.Cursor | None = None  # only while a long result is being fetched
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _run(self, many: bool, sql: str, parameters: Any) -> _Answer:
        """On the connection's thread: run the statement, fetch the first rows, close unless more are left."""
        cursor = self._connection.sqlite.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            rows = cursor.fetchmany(FIRST_ROWS) if cursor.description else []
        except BaseException:
            cursor.close()
            raise
        more = len(rows) == FIRST_ROWS
        answer = (cursor.description, cursor.rowcount, cursor.lastrowid, rows, cursor if more else None)
        if not more:
            cursor.close()
        return answer

    async def _start(self, many: bool, sql: str, parameters: Any) -> Cursor:
        await self.close()
        connection = self._connection
        if connection.writing():  # no lock to wait for: run it here, without a hop
            answer = self._run(many, sql, parameters)
        else:
            answer = await connection._execute(self._run, many, sql, parameters)
            if not sql.lstrip()[:6].upper().startswith(("SELECT", "PRAGMA")):
                connection.wrote()
        self.description, self.rowcount, self.lastrowid, rows, self._open = answer
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        return await self._start(False, sql, parameters)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> Cursor:
        return await self._start(True, sql, parameters)

    async def _fetch_more(self, size: int | None) -> None:
        cursor = self._open
        if cursor is None:
            return

        def fetch() -> list[Any]:
            rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
            if size is None or len(rows) < size:
                cursor.close()
            return rows

        rows = await self._connection._execute(fetch)
        if size is None or len(rows) < size:
            self._open = None
        self._rows.extend(rows)

    async def fetchone(self) -> Any:
        if not self._rows:
            await self._fetch_more(FIRST_ROWS)
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        if len(self._rows) < size:
            await self._fetch_more(max(size, FIRST_ROWS))
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        await self._fetch_more(None)
        rows, self._rows = list(self._rows), deque()
        return rows

    async def close(self) -> None:
        cursor, self._open = self._open, None
        if cursor is not None:
            await self._connection._execute(cursor.close)


class Connection(aiosqlite.Connection):
    """An ``aiosqlite.Connection`` whose cursors take one hop per statement, or none inside a write transaction."""

    _writing = False

    @property
    def sqlite(self) -> sqlite3.Connection:
        return self._conn

    def wrote(self) -> None:
        """A write statement ran: the transaction holds the database's write lock until it ends."""
        self._writing = self._conn.in_transaction

    def writing(self) -> bool:
        """Whether this connection holds SQLite's write lock (a write transaction is open): then no statement
        waits for a lock, and one on the cached pages of a transaction's small working set takes microseconds,
        less than a hop to the thread and back. Commit and rollback (the fsync) still go to the thread."""
        if self._writing and not self._conn.in_transaction:
            self._writing = False
        return self._writing

    async def commit(self) -> None:
        if self._conn.in_transaction:  # else nothing to commit: no hop (a read-only session ending)
            await super().commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:  # else nothing to undo: no hop (the pool resets every connection returned)
            await super().rollback()

    def cursor(self) -> Cursor:  # type: ignore[override]  # SQLAlchemy enters it with ``async with``
        return Cursor(self)


def connect(database: str, **kwargs: Any) -> Connection:
    """Like ``aiosqlite.connect``: an awaitable connection to ``database`` (``sqlite3.connect`` arguments)."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **kwargs)

    connection = Connection(connector, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: never hold the interpreter's exit
    return connection
