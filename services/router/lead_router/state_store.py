"""Rep availability, rotation cursors and open-lead counts, as the strategies need them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from lead_router import tables
from lead_router.domain.availability import RepState
from lead_router.domain.strategies import Cursor

# Run for every lead routed: built once here, they skip SQLAlchemy's statement building and cache-key walk on
# each call (about half of a simple statement's CPU).
_o, _r, _c = tables.rep_open_leads, tables.rep_states, tables.team_cursors
_OPEN_COUNTS = select(_o.c.rep_id, _o.c.open_leads).where(_o.c.rep_id.in_(bindparam("rep_ids", expanding=True)))
_REP_STATES = select(_r).where(_r.c.rep_id.in_(bindparam("rep_ids", expanding=True)))
_CURSOR = select(_c.c.last_rep_id, _c.c.current_weights).where(_c.c.team_id == bindparam("team"))
_CURSOR_LOCKED = _CURSOR.with_for_update()
_SAVE_CURSOR = update(_c).where(_c.c.team_id == bindparam("team")).values(
    last_rep_id=bindparam("last", type_=_c.c.last_rep_id.type),
    current_weights=bindparam("weights", type_=_c.c.current_weights.type),
    updated_at=bindparam("now", type_=_c.c.updated_at.type))
_LOCK_LEAD = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_LOCK_LEADS = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k")


async def rep_states(session: AsyncSession, rep_ids: list[str]) -> dict[str, RepState]:
    """The state of each rep, with the number of leads assigned to them and not yet touched."""
    # rep_open_leads is kept by triggers on assignments; see ``open_lead_counts`` for the long way.
    open_counts: dict[str, int] = dict((await session.execute(_OPEN_COUNTS, {"rep_ids": list(rep_ids)})).all())
    stored = {row.rep_id: row for row in (await session.execute(_REP_STATES, {"rep_ids": list(rep_ids)})).all()}
    states = {}
    for rep_id in rep_ids:
        row = stored.get(rep_id)
        states[rep_id] = RepState(
            active=row.active if row else True,
            out_of_office_until=row.out_of_office_until if row else None,
            capacity=row.capacity if row else None,
            open_leads=int(open_counts.get(rep_id, 0)),
        )
    return states


async def open_lead_counts(session: AsyncSession) -> dict[str, int]:
    """Each rep's open leads counted from ``assignments`` (what ``rep_open_leads`` must always equal)."""
    a = tables.assignments
    return {rep_id: n for rep_id, n in (await session.execute(
        select(a.c.rep_id, func.count()).where(a.c.rep_id.is_not(None), a.c.current.is_(True),
                                               a.c.state == "assigned", a.c.touched_at.is_(None))
        .group_by(a.c.rep_id))).all()}


async def lock_lead(session: AsyncSession, lead_id: str) -> None:
    """Hold the lead until the transaction ends, so two router instances never decide about it at once.

    Taken first, before the lead's current assignment is read: read-then-lock let a second instance act on a
    queue entry the first had just assigned, and assign the lead twice. On PostgreSQL it is a transaction
    advisory lock (the lead may have no row yet); SQLite lets one writer in at a time anyway.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_LEAD, {"key": f"leadrouter.lead:{lead_id}"})


async def lock_leads(session: AsyncSession, lead_ids: list[str]) -> None:
    """``lock_lead`` for several leads with one statement, in a fixed (sorted) order so two instances locking
    overlapping batches cannot deadlock."""
    if lead_ids and session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_LEADS, {"keys": sorted(f"leadrouter.lead:{lead_id}" for lead_id in lead_ids)})


async def lock_cursors(session: AsyncSession, team_ids: set[str], *, now: datetime) -> dict[str, Cursor]:
    """Lock the rotation cursors of ``team_ids`` in one fixed (sorted) order, so that two instances locking
    the same teams cannot deadlock; every cursor a decision may write is locked."""
    return {team_id: await load_cursor(session, team_id, now=now, lock=True) for team_id in sorted(team_ids)}


async def load_cursor(session: AsyncSession, team_id: str, *, now: datetime, lock: bool) -> Cursor:
    """The team's rotation cursor; with ``lock`` the row stays locked (PostgreSQL) until the transaction ends,
    so two router instances never rotate the same team at once."""
    table = tables.team_cursors
    row = (await session.execute(_CURSOR_LOCKED if lock else _CURSOR, {"team": team_id})).first()
    if row is None:
        if not lock:
            return Cursor()
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        # Two instances may create the same team's cursor at once: the second one's insert does nothing.
        await session.execute(dialect.insert(table).values(team_id=team_id, last_rep_id=None, current_weights={},
                                                           updated_at=now).on_conflict_do_nothing())
        row = (await session.execute(_CURSOR_LOCKED, {"team": team_id})).first()
        assert row is not None
    return Cursor(row.last_rep_id, dict(row.current_weights or {}))


async def save_cursor(session: AsyncSession, team_id: str, cursor: Cursor, *, now: datetime) -> None:
    await session.execute(_SAVE_CURSOR, {"team": team_id, "last": cursor.last_rep_id,
                                         "weights": cursor.current_weights, "now": now})


async def save_rep_state(session: AsyncSession, rep_id: str, changes: dict[str, object], *, now: datetime) -> None:
    table = tables.rep_states
    exists = (await session.execute(select(table.c.rep_id).where(table.c.rep_id == rep_id))).first()
    if exists:
        await session.execute(update(table).where(table.c.rep_id == rep_id).values(**changes, updated_at=now))
    else:
        values = {"active": True, "out_of_office_until": None, "capacity": None, **changes}
        await session.execute(insert(table).values(rep_id=rep_id, updated_at=now, **values))
