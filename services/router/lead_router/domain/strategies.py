"""How a team picks one of its eligible reps: round robin, smooth weighted round robin, or least loaded.

The strategies are pure: they take the team's cursor (who was picked last, the weighted counters) and return
the pick together with the new cursor, which the caller stores in the same transaction as the assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lead_router.domain.availability import RepState, unavailable_reason
from lead_router.domain.config import Rep, Team


@dataclass(frozen=True)
class Cursor:
    """A team's rotation state."""

    last_rep_id: str | None = None
    current_weights: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Pick:
    rep_id: str | None
    cursor: Cursor
    explanation: list[str]


def _next_after(reps: list[Rep], eligible: list[Rep], last_rep_id: str | None) -> Rep:
    """The first eligible rep after ``last_rep_id`` in the team's order, wrapping around."""
    order = [r.id for r in reps]
    start = order.index(last_rep_id) + 1 if last_rep_id in order else 0
    eligible_ids = {r.id for r in eligible}
    for offset in range(len(order)):
        candidate = reps[(start + offset) % len(order)]
        if candidate.id in eligible_ids:
            return candidate
    raise ValueError("no eligible rep")


def pick_rep(team: Team, states: dict[str, RepState], cursor: Cursor, now: datetime,
             *, exclude: frozenset[str] = frozenset()) -> Pick:
    """Pick a rep of ``team`` for one lead by the team's strategy; ``exclude`` reps are never picked."""
    eligible: list[Rep] = []
    skipped: list[str] = []
    for rep in team.reps:
        if rep.id in exclude:
            skipped.append(f"{rep.id} already had this lead")
            continue
        reason = unavailable_reason(rep, team, states.get(rep.id, RepState()), now)
        if reason:
            skipped.append(reason)
        else:
            eligible.append(rep)
    if not eligible:
        return Pick(None, cursor, [f"team {team.id}: nobody is eligible ({'; '.join(skipped)})"])
    if team.strategy == "weighted":
        chosen, new_cursor, why = _weighted(team, eligible, cursor)
    elif team.strategy == "least_loaded":
        chosen, new_cursor, why = _least_loaded(team, eligible, states, cursor)
    else:
        chosen = _next_after(team.reps, eligible, cursor.last_rep_id)
        new_cursor = Cursor(chosen.id, cursor.current_weights)
        why = f"round robin: {chosen.id} next after {cursor.last_rep_id}" if cursor.last_rep_id \
            else f"round robin: {chosen.id} first in team {team.id}"
    return Pick(chosen.id, new_cursor, [why + (f"; {'; '.join(skipped)}" if skipped else "")])


def _weighted(team: Team, eligible: list[Rep], cursor: Cursor) -> tuple[Rep, Cursor, str]:
    """Smooth weighted round robin (as in nginx): spreads picks evenly in proportion to weight."""
    weights = {rep.id: cursor.current_weights.get(rep.id, 0) + rep.weight for rep in eligible}
    chosen = max(eligible, key=lambda rep: (weights[rep.id], -team.reps.index(rep)))
    total = sum(rep.weight for rep in eligible)
    weights[chosen.id] -= total
    kept = {rid: w for rid, w in cursor.current_weights.items() if rid not in weights}
    why = f"weighted: {chosen.id} (weight {chosen.weight} of {total}) has the highest running score"
    return chosen, Cursor(chosen.id, {**kept, **weights}), why


def _least_loaded(team: Team, eligible: list[Rep], states: dict[str, RepState],
                  cursor: Cursor) -> tuple[Rep, Cursor, str]:
    fewest = min(states.get(rep.id, RepState()).open_leads for rep in eligible)
    tied = [rep for rep in eligible if states.get(rep.id, RepState()).open_leads == fewest]
    chosen = _next_after(team.reps, tied, cursor.last_rep_id)
    why = f"least loaded: {chosen.id} has {fewest} open lead(s)"
    if len(tied) > 1:
        why += f", tied with {len(tied) - 1} other(s), taken in round-robin order"
    return chosen, Cursor(chosen.id, cursor.current_weights), why
