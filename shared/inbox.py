"""Idempotent consumers: remember which event ids were processed, in the same transaction as their effect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UTCDateTime


def processed_events_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("processed_at", UTCDateTime(), nullable=False, index=True),  # for retention
    )


async def was_processed(session: AsyncSession, table: Table, event_id: str) -> bool:
    found = await session.execute(select(table.c.event_id).where(table.c.event_id == event_id))
    return found.first() is not None


async def mark_processed(session: AsyncSession, table: Table, event_id: str, *, now: datetime) -> None:
    await session.execute(insert(table).values(event_id=event_id, processed_at=now))


async def processed_among(session: AsyncSession, table: Table, event_ids: list[str]) -> set[str]:
    """Which of ``event_ids`` were processed before (one query for a whole batch)."""
    if not event_ids:
        return set()
    found = await session.execute(select(table.c.event_id).where(table.c.event_id.in_(set(event_ids))))
    return set(found.scalars())


async def mark_many_processed(session: AsyncSession, table: Table, event_ids: list[str], *, now: datetime) -> None:
    """Record several processed event ids with one statement."""
    if event_ids:
        await session.execute(insert(table), [{"event_id": e, "processed_at": now} for e in event_ids])
