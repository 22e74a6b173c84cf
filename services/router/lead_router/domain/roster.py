"""The reps of a routing document as ops see them: team, availability, open leads against capacity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lead_router.domain.availability import RepState, unavailable_reason
from lead_router.domain.config import Rep, RoutingConfig, Team


def document_reps(config: RoutingConfig) -> dict[str, list[tuple[Team, Rep]]]:
    """Each rep id with the teams it is in (a rep may serve several), in document order."""
    reps: dict[str, list[tuple[Team, Rep]]] = {}
    for team in config.teams:
        for rep in team.reps:
            reps.setdefault(rep.id, []).append((team, rep))
    return reps


def roster(config: RoutingConfig, states: dict[str, RepState], *, now: datetime) -> list[dict[str, Any]]:
    """One entry per rep of the document, in document order; ``team`` is the first team that lists the rep.

    ``capacity`` is what routing applies (the override set by ``PATCH /v1/reps``, else the document's);
    ``unavailable_reason`` says why routing would skip the rep at ``now`` (None: the rep can take a lead)."""
    entries = []
    for rep_id, memberships in document_reps(config).items():
        team, rep = memberships[0]
        state = states.get(rep_id, RepState())
        reasons = [unavailable_reason(r, t, state, now) for t, r in memberships]
        entries.append({
            "rep_id": rep_id, "name": rep.name, "team": team.id, "teams": [t.id for t, _ in memberships],
            "active": state.active,
            "out_of_office_until": state.out_of_office_until.isoformat() if state.out_of_office_until else None,
            "capacity": state.capacity if state.capacity is not None else rep.capacity,
            "open_leads": state.open_leads, "timezone": rep.timezone,
            # Available when any of the rep's teams could route to them now.
            "unavailable_reason": None if None in reasons else reasons[0],
        })
    return entries
