"""What the live board shows: the running clocks, and those breached recently and still without a response,
ordered by time left (the most overdue first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sla_monitor import tables

#: At most this many rows on the board (the most urgent ones).
BOARD_LIMIT = 500


@dataclass(frozen=True)
class BoardFilter:
    team: str | None = None
    rep_id: str | None = None
    urgency: str | None = None


@dataclass(frozen=True)
class BoardRow:
    clock_id: str
    lead_id: str
    company: str | None
    source: str | None
    campaign: str | None
    team: str
    rep_id: str | None
    urgency: str
    state: str  # running | breached
    started_at: datetime
    due_at: datetime
    warn_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None

    def status(self, now: datetime) -> str:
        """``breached``, ``warning`` (past its warning time) or ``running``."""
        if self.state == "breached":
            return "breached"
        if self.warned_at is not None or (self.warn_at is not None and now >= self.warn_at):
            return "warning"
        return "running"


def _on_board(now: datetime, breached_within: timedelta) -> Any:
    c = tables.clocks
    # The first term repeats what the rest implies, word for word as ``ix_clocks_board`` says it, so that the
    # planners (SQLite's above all) see that the index holds every clock the board wants.
    return and_(text(tables.BOARD_STATES_SQL), c.c.quarantined_at.is_(None), or_(
        c.c.state == "running",
        and_(c.c.state == "breached", c.c.responded_at.is_(None), c.c.breached_at >= now - breached_within)))


async def board_rows(session: AsyncSession, *, now: datetime, breached_within: timedelta,
                     filters: BoardFilter = BoardFilter(), limit: int = BOARD_LIMIT) -> list[BoardRow]:
    c = tables.clocks
    query = select(c.c.clock_id, c.c.lead_id, c.c.lead, c.c.source, c.c.campaign, c.c.team, c.c.rep_id,
                   c.c.urgency, c.c.state, c.c.started_at, c.c.due_at, c.c.warn_at, c.c.warned_at,
                   c.c.breached_at).where(_on_board(now, breached_within))
    if filters.team:
        query = query.where(c.c.team == filters.team)
    if filters.rep_id:
        query = query.where(c.c.rep_id == filters.rep_id)
    if filters.urgency:
        query = query.where(c.c.urgency == filters.urgency)
    rows = (await session.execute(query.order_by(c.c.due_at, c.c.clock_id).limit(limit))).all()
    return [BoardRow(clock_id=r.clock_id, lead_id=r.lead_id, company=_text(r.lead, "company"),
                     source=r.source or _text(r.lead, "source"), campaign=r.campaign or _text(r.lead, "campaign"),
                     team=r.team, rep_id=r.rep_id, urgency=r.urgency, state=r.state, started_at=r.started_at,
                     due_at=r.due_at, warn_at=r.warn_at, warned_at=r.warned_at, breached_at=r.breached_at)
            for r in rows]


def _text(lead: Any, key: str) -> str | None:
    value = lead.get(key) if isinstance(lead, dict) else None
    return str(value) if value is not None else None


async def board_choices(session: AsyncSession, *, now: datetime,
                        breached_within: timedelta) -> tuple[list[str], list[str]]:
    """The teams and reps that have clocks on the board, for the filters."""
    c = tables.clocks
    on_board = _on_board(now, breached_within)
    teams = (await session.execute(select(c.c.team).where(on_board).distinct().order_by(c.c.team))).scalars()
    reps = (await session.execute(select(c.c.rep_id).where(on_board, c.c.rep_id.is_not(None)).distinct()
                                  .order_by(c.c.rep_id))).scalars()
    return list(teams), [r for r in reps if r is not None]


async def board_fingerprint(session: AsyncSession, *, now: datetime, breached_within: timedelta) -> str:
    """Changes whenever a clock comes onto the board, leaves it or changes: every write gives a clock a new random
    version, so the sum of the versions (modulo a prime, so it cannot overflow) changes with it. One aggregate
    query, cheap enough to repeat every few seconds however many clocks run."""
    c = tables.clocks
    count, total = (await session.execute(
        select(func.count(), func.coalesce(func.sum(c.c.version % _PRIME), 0))
        .where(_on_board(now, breached_within)))).one()
    return f"{count}:{total}"


_PRIME = 1_000_003
