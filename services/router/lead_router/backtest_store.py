"""What a backtest reads: the period's leads with their current assignment, in received order and in chunks,
the leads still open at its start, and the owners of contacts seen before it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_router import tables
from lead_router.domain.backtest import EarlierOwner, Placement, StoredLead

CHUNK = 1000


async def leads_of_period(session: AsyncSession, *, since: datetime, until: datetime,
                          chunk: int = CHUNK) -> AsyncIterator[list[StoredLead]]:
    """Leads received in ``[since, until)`` with their current assignment, oldest first, ``chunk`` at a time."""
    leads, a = tables.leads, tables.assignments
    query = (select(leads.c.lead_id, leads.c.data, leads.c.received_at, a.c.team, a.c.rep_id, a.c.urgency,
                    a.c.touched_at)
             .join(a, (a.c.lead_id == leads.c.lead_id) & a.c.current.is_(True))
             .where(leads.c.received_at >= since, leads.c.received_at < until)
             .order_by(leads.c.received_at, leads.c.lead_id)
             .execution_options(yield_per=chunk))
    result = await session.stream(query)
    async for rows in result.partitions(chunk):
        yield [StoredLead(r.lead_id, r.data, r.received_at, Placement(r.team, r.rep_id, r.urgency), r.touched_at)
               for r in rows]


async def open_at(session: AsyncSession, at: datetime) -> list[tuple[str, datetime | None]]:
    """Leads received before ``at`` whose current assignment was untouched at ``at``: (rep, when touched)."""
    leads, a = tables.leads, tables.assignments
    rows = (await session.execute(
        select(a.c.rep_id, a.c.touched_at).join(leads, leads.c.lead_id == a.c.lead_id)
        .where(leads.c.received_at < at, a.c.current.is_(True), a.c.state == "assigned", a.c.rep_id.is_not(None),
               a.c.assigned_at <= at, (a.c.touched_at.is_(None)) | (a.c.touched_at > at)))).all()
    return [(r.rep_id, r.touched_at) for r in rows]


async def owners_before(session: AsyncSession, at: datetime, *, lookback_days: int,
                        chunk: int = CHUNK) -> AsyncIterator[list[EarlierOwner]]:
    """Assigned leads with an email received in the ownership lookback before ``at``, oldest first."""
    leads, a = tables.leads, tables.assignments
    query = (select(leads.c.email, leads.c.lead_id, leads.c.received_at, a.c.rep_id, a.c.team)
             .join(a, (a.c.lead_id == leads.c.lead_id) & a.c.current.is_(True))
             .where(leads.c.received_at >= at - timedelta(days=lookback_days), leads.c.received_at < at,
                    leads.c.email.is_not(None), a.c.state == "assigned")
             .order_by(leads.c.received_at)
             .execution_options(yield_per=chunk))
    result = await session.stream(query)
    async for rows in result.partitions(chunk):
        yield [EarlierOwner(r.email, r.rep_id, r.team, r.lead_id, r.received_at) for r in rows]
