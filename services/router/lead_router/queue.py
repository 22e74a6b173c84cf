"""Leads nobody could take wait in their team's queue; these functions hand them out later, and move
reassignment requests and touches into the assignment history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lead_router import tables
from lead_router.config_store import ActiveConfig
from lead_router.routing import plan, record
from lead_router.state_store import lock_lead
from shared.events import ReassignmentRequested
from shared.logging import get_logger
from shared.versioned import VersionedDocuments

log = get_logger(__name__)


async def current_assignment(session: AsyncSession, lead_id: str) -> Row[Any] | None:
    a = tables.assignments
    return (await session.execute(select(a).where(a.c.lead_id == lead_id, a.c.current.is_(True)))).first()


async def lead_data(session: AsyncSession, lead_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(tables.leads.c.data).where(tables.leads.c.lead_id == lead_id))).first()
    return dict(row.data) if row else None


async def assign_queued(session: AsyncSession, lead_id: str, *, active: ActiveConfig, now: datetime) -> bool:
    """Try once more to assign a queued lead (to the fallback team once its team's wait is over)."""
    await lock_lead(session, lead_id)  # before reading: another instance may be assigning it right now
    current = await current_assignment(session, lead_id)
    lead = await lead_data(session, lead_id)
    if current is None or current.state != "queued" or lead is None:
        return False
    team = next((t for t in active.parsed.teams if t.id == current.team), None)
    target = current.team if team is not None else active.parsed.fallback.team
    queued_at = current.queued_at or now
    if team is not None and team.queue_timeout_minutes is not None and team.id != active.parsed.fallback.team \
            and now - queued_at >= timedelta(minutes=team.queue_timeout_minutes):
        target = active.parsed.fallback.team
    exclude = frozenset([current.rep_id]) if current.reason == "reassigned" and current.rep_id else frozenset()
    decision = await plan(session, active, lead, lead_id=lead_id, now=now, lock=True, team_override=target,
                          exclude=exclude, use_ownership=current.reason == "initial")
    if decision.queued and decision.team == current.team:
        return False
    await record(session, decision, active=active, lead_id=lead_id, lead=lead, reason=current.reason, now=now,
                 queued_at=queued_at)
    return not decision.queued


async def drain_queues(session_factory: async_sessionmaker[AsyncSession], documents: VersionedDocuments[Any],
                       now: datetime) -> int:
    """Give every queued lead another chance, oldest first; one transaction per lead. Returns how many left."""
    a = tables.assignments
    async with session_factory() as session:
        waiting = list((await session.execute(
            select(a.c.lead_id).where(a.c.state == "queued", a.c.current.is_(True))
            .order_by(a.c.queued_at).limit(500))).scalars())
    assigned = 0
    for lead_id in waiting:
        async with session_factory.begin() as session:
            active = await documents.active(session)
            assigned += await assign_queued(session, lead_id, active=active, now=now)
    if assigned:
        log.info("router.queue_drained", assigned=assigned, waiting=len(waiting) - assigned)
    return assigned


async def reassign(session: AsyncSession, request: ReassignmentRequested, *, active: ActiveConfig,
                   now: datetime) -> bool:
    """Give the lead to the next eligible rep of its team other than the current one (``reason: reassigned``)."""
    await lock_lead(session, request.lead_id)
    current = await current_assignment(session, request.lead_id)
    lead = await lead_data(session, request.lead_id)
    if current is None or lead is None or current.state != "assigned":
        return False
    if current.rep_id != request.current_rep_id or current.touched_at is not None:
        log.info("router.reassignment_ignored", lead_id=request.lead_id, reason="stale or already touched")
        return False
    a = tables.assignments
    earlier = set((await session.execute(select(a.c.rep_id).where(
        a.c.lead_id == request.lead_id, a.c.rep_id.is_not(None)))).scalars())
    decision = await plan(session, active, lead, lead_id=request.lead_id, now=now, lock=True,
                          team_override=current.team, exclude=frozenset(earlier), use_ownership=False)
    if decision.queued:
        # Everybody else already had it or is away: the current rep keeps it rather than nobody.
        log.info("router.reassignment_without_candidate", lead_id=request.lead_id, team=current.team)
        return False
    decision.explanation.insert(0, f"reassigned from {current.rep_id}: {request.reason}")
    await record(session, decision, active=active, lead_id=request.lead_id, lead=lead, reason="reassigned", now=now)
    return True


async def mark_touched(session: AsyncSession, lead_id: str, *, occurred_at: datetime) -> None:
    """The rep worked the lead: it no longer counts as open for least-loaded and capacity."""
    a = tables.assignments
    await session.execute(update(a).where(a.c.lead_id == lead_id, a.c.current.is_(True), a.c.state == "assigned",
                                          a.c.touched_at.is_(None), a.c.assigned_at <= occurred_at)
                          .values(touched_at=occurred_at))
