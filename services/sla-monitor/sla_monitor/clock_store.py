"""Clocks in the database: the pure ``ResponseClock`` plus what alerts need (lead, team, rep, partition).

Every write of a clock is conditional on the version it was read at and gives it a fresh one, so a writer that
holds a stale copy (the ticker read the clock, then a touch committed) fails with ``StaleClock`` instead of
overwriting the newer state. A clock whose stored policy no longer computes is quarantined, never retried.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.logging import get_logger
from sla_monitor import tables
from sla_monitor.domain.clock import Happening, ResponseClock
from sla_monitor.domain.policies import Policy
from sla_monitor.metrics import CLOCKS_QUARANTINED

log = get_logger(__name__)

CLOCK_FIELDS = [f.name for f in fields(ResponseClock)]
Step = Callable[[ResponseClock, Policy], tuple[ResponseClock, list[Happening]]]


class StaleClock(RuntimeError):
    """A clock changed after it was read; the work on it must be redone from a fresh read."""


@dataclass(frozen=True)
class Quarantined:
    """A clock that cannot be processed, and why (no lead data: the type of error and its first line)."""

    reason: str


def clock_from_row(row: Row[Any]) -> ResponseClock:
    return ResponseClock(**{name: getattr(row, name) for name in CLOCK_FIELDS})


def policy_of(row: Row[Any]) -> Policy:
    return _policy(json.dumps(row.policy, sort_keys=True))


@lru_cache(maxsize=256)
def _policy(document: str) -> Policy:
    # Clocks share a handful of policy snapshots; parse each once.
    return Policy.model_validate_json(document)


def clock_values(clock: ResponseClock, policy: Policy) -> dict[str, Any]:
    values = {name: getattr(clock, name) for name in CLOCK_FIELDS}
    values["response_seconds"] = clock.response_seconds
    values["next_action_at"] = clock.next_action_at(policy)
    return values


def advance(row: Row[Any], step: Step) -> tuple[ResponseClock | Quarantined, list[Happening]]:
    """Run a pure ``step`` on the stored clock; if the clock cannot be processed, quarantine it instead.

    Only pure code runs here (parsing the policy snapshot, date arithmetic), so whatever it raises is about this
    clock's data and would fail the same way on every retry: an overflow, a policy that no longer validates."""
    try:
        policy = policy_of(row)
        clock, happened = step(clock_from_row(row), policy)
        clock_values(clock, policy)  # its next action must be computable as well
    except Exception as exc:  # noqa: BLE001 - contained per clock, so one bad clock never blocks the others
        first_line = (str(exc).splitlines() or [""])[0]
        reason = f"{type(exc).__name__}: {first_line}"[:200]
        CLOCKS_QUARANTINED.inc()
        log.warning("sla.clock_quarantined", clock_id=row.clock_id, error=type(exc).__name__)
        return Quarantined(reason), []
    return clock, happened


async def insert_clock(session: AsyncSession, clock: ResponseClock, policy: Policy, **context: Any) -> None:
    await session.execute(_INSERT, [{**clock_values(clock, policy), "policy": policy.model_dump(mode="json"),
                                     "version": secrets.randbits(62), **context}])


_INSERT = insert(tables.clocks)  # built once: every clock started runs it


def _changes(row: Row[Any], clock: ResponseClock | Quarantined, note: str | None,
             now: datetime) -> dict[str, Any]:
    if isinstance(clock, Quarantined):
        note = f"quarantined: {clock.reason}"
        values: dict[str, Any] = {"next_action_at": None, "quarantined_at": now, "quarantine_reason": clock.reason}
    else:
        values = {**clock_values(clock, policy_of(row)), "quarantined_at": None, "quarantine_reason": None}
    history = list(row.history) + ([{"at": now.isoformat(), "what": note}] if note else [])
    return {**values, "history": history, "version": secrets.randbits(62), "b_clock_id": row.clock_id,
            "b_version": row.version}


_c = tables.clocks
_UPDATE = update(_c).where(_c.c.clock_id == bindparam("b_clock_id"), _c.c.version == bindparam("b_version"))


async def save_clock(session: AsyncSession, row: Row[Any], clock: ResponseClock | Quarantined, *,
                     note: str | None, now: datetime) -> None:
    """Store the clock's new state, appending ``note`` to its history."""
    await save_clocks(session, [(row, clock, note)], now=now)


async def save_clocks(session: AsyncSession, changes: list[tuple[Row[Any], ResponseClock | Quarantined, str | None]],
                      *, now: datetime) -> None:
    """Store several clocks with one statement; ``StaleClock`` if any changed since it was read."""
    if not changes:
        return
    values = [_changes(row, clock, note, now) for row, clock, note in changes]
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for change in values:  # one statement per shape: quarantined clocks write fewer columns
        groups.setdefault(frozenset(change), []).append(change)
    for group in groups.values():
        await session.execute(_UPDATE, group)
    # Not every driver counts the rows of a multi-row UPDATE, so read back the versions just written: each is
    # a fresh random number, found only where this write happened.
    ids = [v["b_clock_id"] for v in values]
    written = {r.clock_id: r.version for r in (await session.execute(select(_c.c.clock_id, _c.c.version)
                                                                      .where(_c.c.clock_id.in_(ids))))}
    stale = [v["b_clock_id"] for v in values if written.get(v["b_clock_id"]) != v["version"]]
    if stale:
        raise StaleClock(f"{len(stale)} clock(s) changed after they were read; redo the work from a fresh read.")
