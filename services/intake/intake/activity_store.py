"""Storing a resolved activity: its row and its ``activity.recorded`` event, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake import EVENT_SOURCE, tables
from shared.events import ActivityRecorded, CloudEvent
from shared.outbox import add_to_outbox


async def store_activity(session: AsyncSession, data: ActivityRecorded, *, now: datetime) -> None:
    """Store a resolved activity and queue its ``activity.recorded`` (the caller checked it is new)."""
    await session.execute(insert(tables.activities).values(
        activity_id=data.activity_id, lead_id=data.lead_id, data=data.model_dump(mode="json"), received_at=now))
    await add_to_outbox(session, tables.outbox, CloudEvent.wrap(data, source=EVENT_SOURCE, time=now))
