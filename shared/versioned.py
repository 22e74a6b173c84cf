"""Versioned documents (routing rules, SLA policies): validated whole, stored as a new version, never edited.

The newest version is the active one; rolling back is storing an old document again. Each service keeps
the active version in a ``VersionCache`` and reloads it when another instance stored a newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import UTCDateTime
from shared.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")


def versions_table(name: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        Column("version", Integer(), primary_key=True, autoincrement=False),
        Column("document", JSON(), nullable=False),
        Column("origin", String(32), nullable=False),  # file | api
        Column("created_at", UTCDateTime(), nullable=False),
    )


@dataclass(frozen=True)
class Version(Generic[T]):
    number: int
    parsed: T
    document: dict[str, Any]


class StoredDocumentInvalid(Exception):
    """The newest stored version does not validate under today's rules (stored by an older release)."""


class SeedError(RuntimeError):
    """The seed file cannot start an empty store (missing or invalid); the message says which and how to fix it."""


def as_json(document: Any) -> Any:
    """``document`` as its JSON column will hold it. YAML reads an unquoted ``2026-12-25`` as a date: that is
    stored (and validated) as the string ``"2026-12-25"``; keys become strings, other odd values their text."""
    if isinstance(document, dict):
        return {_key(key): as_json(value) for key, value in document.items()}
    if isinstance(document, list | tuple | set | frozenset):
        return [as_json(value) for value in document]
    if document is None or isinstance(document, bool | int | float | str):
        return document
    if isinstance(document, date | datetime):
        return document.isoformat()
    return str(document)


def _key(key: Any) -> str:
    return key.isoformat() if isinstance(key, date | datetime) else str(key)


class VersionedDocuments(Generic[T]):
    """Store and load versions of one kind of document; ``parse`` validates (and raises on problems)."""

    def __init__(self, table: Table, parse: Callable[[Any], T]) -> None:
        self.table = table
        self.parse = parse
        self._active: Version[T] | None = None
        # Every message handled asks for the newest number: built once, not per call.
        self._newest = select(func.max(table.c.version))

    def read_file(self, path: str | Path) -> dict[str, Any]:
        """Read a YAML (or JSON) document and validate it."""
        document = as_json(yaml.safe_load(Path(path).read_text()))
        self.parse(document)
        return document  # type: ignore[no-any-return]

    async def newest_number(self, session: AsyncSession) -> int | None:
        value = (await session.execute(self._newest)).scalar()
        return int(value) if value is not None else None

    async def load(self, session: AsyncSession, number: int) -> Version[T] | None:
        row = (await session.execute(select(self.table.c.document).where(self.table.c.version == number))).first()
        return None if row is None else Version(number, self.parse(row.document), row.document)

    async def save(self, session: AsyncSession, document: dict[str, Any], *, origin: str, now: datetime) -> Version[T]:
        """Validate and store ``document`` as the next version (the caller commits)."""
        document = as_json(document)
        parsed = self.parse(document)
        number = (await self.newest_number(session) or 0) + 1
        await session.execute(insert(self.table).values(version=number, document=document, origin=origin,
                                                        created_at=now))
        version = Version(number, parsed, document)
        self.remember(version)
        return version

    async def listing(self, session: AsyncSession) -> list[dict[str, Any]]:
        rows = (await session.execute(select(self.table.c.version, self.table.c.origin, self.table.c.created_at)
                                      .order_by(self.table.c.version.desc()))).all()
        return [{"version": r.version, "origin": r.origin, "created_at": r.created_at.isoformat()} for r in rows]

    async def active(self, session: AsyncSession) -> Version[T]:
        """The newest version, from memory unless another instance stored a newer one."""
        number = await self.newest_number(session)
        if number is None:
            raise LookupError(f"No document is stored in {self.table.name}; it is seeded from a file at start.")
        if self._active is None or self._active.number != number:
            loaded = await self.load(session, number)
            assert loaded is not None
            self._active = loaded
        return self._active

    def remember(self, version: Version[T]) -> None:
        if self._active is None or version.number >= self._active.number:
            self._active = version

    async def seed(self, session: AsyncSession, path: str | Path, *, now: datetime) -> str:
        """Store the file as version 1 when nothing is stored; say what happened."""
        document = self.read_file(path) if Path(path).exists() else None  # noqa: ASYNC240 (once, at start)
        newest = await self.newest_number(session)
        if newest is None:
            if document is None:
                raise FileNotFoundError(f"Nothing is stored yet and {path} does not exist.")
            await self.save(session, document, origin="file", now=now)
            return "seeded"
        try:
            stored = await self.load(session, newest)
        except ValueError as exc:
            # Stored under older, looser rules (say a duration beyond today's bound): it cannot be used. The file,
            # which has just validated, becomes the next version; without a file the operator must fix it first.
            if document is None:
                raise StoredDocumentInvalid(f"version {newest} no longer validates: {exc}") from None
            await self.save(session, document, origin="file", now=now)
            log.warning("documents.stored_invalid_replaced", table=self.table.name, version=newest,
                        path=str(path), problem=str(exc))
            return "replaced"
        return "differs" if document is not None and stored is not None and stored.document != document else "kept"

    async def seed_from_file(self, session_factory: async_sessionmaker[AsyncSession], path: str | Path, *,
                             what: str, setting: str, now: datetime) -> None:
        """Seed at start, logging what happened; raise ``SeedError`` with a sentence a user can act on."""
        try:
            async with session_factory.begin() as session:
                outcome = await self.seed(session, path, now=now)
        except FileNotFoundError:
            raise SeedError(f"No {what} is stored and {path} does not exist; set {setting} to a {what} file.") from None
        except StoredDocumentInvalid as exc:
            raise SeedError(f"The stored {what} {exc}; point {setting} at a valid {what} file, which then becomes "
                            "the next version.") from None
        except ValueError as exc:  # the parser's InvalidDocument / InvalidPolicies
            raise SeedError(f"The {what} in {path} is invalid: {exc}") from None
        if outcome == "seeded":
            log.info("documents.seeded", table=self.table.name, path=str(path))
        elif outcome == "differs":
            log.warning("documents.file_differs", table=self.table.name, path=str(path),
                        hint="the stored version stays active; change it through the API")
