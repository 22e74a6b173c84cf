"""Clocks in the database: the pure ``ResponseClock`` plus what alerts need (lead, team, rep, partition)."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from sla_monitor import tables
from sla_monitor.domain.clock import ResponseClock
from sla_monitor.domain.policies import Policy

CLOCK_FIELDS = [f.name for f in fields(ResponseClock)]


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


async def insert_clock(session: AsyncSession, clock: ResponseClock, policy: Policy, **context: Any) -> None:
    await session.execute(insert(tables.clocks).values(
        **clock_values(clock, policy), policy=policy.model_dump(mode="json"), **context))


def _changes(row: Row[Any], clock: ResponseClock, note: str | None, now: datetime) -> dict[str, Any]:
    history = list(row.history) + ([{"at": now.isoformat(), "what": note}] if note else [])
    return {**clock_values(clock, policy_of(row)), "history": history, "b_clock_id": row.clock_id}


_UPDATE = update(tables.clocks).where(tables.clocks.c.clock_id == bindparam("b_clock_id"))


async def save_clock(session: AsyncSession, row: Row[Any], clock: ResponseClock, *, note: str | None,
                     now: datetime) -> None:
    """Store the clock's new state, appending ``note`` to its history."""
    await save_clocks(session, [(row, clock, note)], now=now)


async def save_clocks(session: AsyncSession, changes: list[tuple[Row[Any], ResponseClock, str | None]], *,
                      now: datetime) -> None:
    """Store several clocks with one statement."""
    if changes:
        await session.execute(_UPDATE, [_changes(row, clock, note, now) for row, clock, note in changes])
