"""Who can take a lead right now: active, not out of office, under capacity, inside working hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from lead_router.domain.config import Rep, Team
from shared.events.weekdays import weekday_of


@dataclass(frozen=True)
class RepState:
    """What the router knows about a rep beyond the routing document (changed by ``PATCH /v1/reps``)."""

    active: bool = True
    out_of_office_until: datetime | None = None
    capacity: int | None = None  # overrides the document's capacity when set
    open_leads: int = 0  # assigned, not yet touched


def unavailable_reason(rep: Rep, team: Team, state: RepState, now: datetime) -> str | None:
    """Why ``rep`` cannot take a lead at ``now``, or None when they can."""
    if not state.active:
        return f"{rep.id} is inactive"
    if state.out_of_office_until is not None and now < state.out_of_office_until:
        return f"{rep.id} out of office until {state.out_of_office_until.date().isoformat()}"
    capacity = state.capacity if state.capacity is not None else rep.capacity
    if capacity is not None and state.open_leads >= capacity:
        return f"{rep.id} at capacity ({state.open_leads}/{capacity} open leads)"
    if team.working_hours is not None:
        local = now.astimezone(ZoneInfo(rep.timezone))
        hours = team.working_hours.days.get(weekday_of(local))
        clock = local.strftime("%H:%M")
        if hours is None or not (hours[0] <= clock < hours[1]):
            return f"{rep.id} outside working hours ({clock} {rep.timezone})"
    return None
