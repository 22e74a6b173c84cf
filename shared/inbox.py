"""Idempotent consumers: remember which event ids were processed, in the same transaction as their effect."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UTCDateTime


def processed_events_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("processed_at", UTCDateTime(), nullable=False, index=True),  # for retention
    )


# Each message consumed runs these; built once per table, they skip SQLAlchemy's statement building and cache-key
# walk on every call (half of a simple statement's CPU).
@functools.cache
def _select_among(table: Table) -> Any:
    return select(table.c.event_id).where(table.c.event_id.in_(bindparam("ids", expanding=True)))


@functools.cache
def _insert(table: Table) -> Any:
    return insert(table)


async def was_processed(session: AsyncSession, table: Table, event_id: str) -> bool:
    return bool(await processed_among(session, table, [event_id]))


async def mark_processed(session: AsyncSession, table: Table, event_id: str, *, now: datetime) -> None:
    await mark_many_processed(session, table, [event_id], now=now)


async def processed_among(session: AsyncSession, table: Table, event_ids: list[str]) -> set[str]:
    """Which of ``event_ids`` were processed before (one query for a whole batch)."""
    if not event_ids:
        return set()
    found = await session.execute(_select_among(table), {"ids": sorted(set(event_ids))})
    return set(found.scalars())


async def mark_many_processed(session: AsyncSession, table: Table, event_ids: list[str], *, now: datetime) -> None:
    """Record several processed event ids with one statement."""
    if event_ids:
        await session.execute(_insert(table), [{"event_id": e, "processed_at": now} for e in event_ids])
