"""The clock facts the speed-to-lead reports are computed from (the figures themselves: ``domain.reports`` and
``domain.series``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sla_monitor import tables
from sla_monitor.domain.reports import ClockFacts

GroupBy = Literal["team", "rep", "source", "campaign"]
#: The group of a clock that has no value for the grouping column (a lead without a campaign).
NO_GROUP = "(none)"


async def clock_facts(session: AsyncSession, *, group_by: GroupBy, from_: datetime | None = None,
                      to: datetime | None = None, groups: list[str] | None = None) -> list[ClockFacts]:
    """First-response clocks started in ``[from_, to)`` (each bound optional), optionally only of ``groups``.

    A clock cancelled before anything happened (reassigned at once, disqualified) is left out: it says
    nothing about speed to lead."""
    c = tables.clocks
    column = {"team": c.c.team, "rep": c.c.rep_id, "source": c.c.source, "campaign": c.c.campaign}[group_by]
    conditions: list[Any] = [c.c.cancelled_at.is_(None) | c.c.responded_at.is_not(None) | c.c.breached_at.is_not(None)]
    if from_ is not None:
        conditions.append(c.c.started_at >= from_)
    if to is not None:
        conditions.append(c.c.started_at < to)
    if groups is not None:
        conditions.append(column.in_(groups))
    rows = (await session.execute(select(func.coalesce(column, NO_GROUP).label("grp"), c.c.lead_id, c.c.state,
                                         c.c.response_seconds, c.c.touches, c.c.started_at)
                                  .where(and_(*conditions)))).all()
    return [ClockFacts(r.grp, r.lead_id, r.state, r.response_seconds, r.touches, r.started_at) for r in rows]
