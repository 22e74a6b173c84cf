"""What an SLA prediction reads: the first-response clocks started in the observation period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sla_monitor import tables
from sla_monitor.domain.prediction import Observation


async def observations_since(session: AsyncSession, since: datetime) -> list[Observation]:
    """Clocks started at or after ``since`` (one small row each: rep, team, state and times)."""
    c = tables.clocks
    rows = (await session.execute(
        select(c.c.rep_id, c.c.team, c.c.state, c.c.started_at, c.c.responded_at, c.c.cancelled_at)
        .where(c.c.started_at >= since))).all()
    return [Observation(r.rep_id, r.team, r.state, r.started_at, r.responded_at, r.cancelled_at) for r in rows]
