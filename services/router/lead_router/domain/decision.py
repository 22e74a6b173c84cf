"""One routing decision: the owner of a returning contact if available, else rules pick the team and
urgency and the team's strategy picks the rep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lead_router.domain.availability import RepState, unavailable_reason
from lead_router.domain.config import RoutingConfig, Urgency
from lead_router.domain.matching import RuleOutcome, match_rules
from lead_router.domain.strategies import Cursor, pick_rep


@dataclass(frozen=True)
class OwnerCandidate:
    """The rep who owns an earlier lead of the same contact or account."""

    rep_id: str
    team: str
    why: str  # e.g. "same email as lead 5f0c…"


@dataclass(frozen=True)
class Decision:
    team: str
    rep_id: str | None  # None: nobody is eligible; the lead waits in the team's queue
    urgency: Urgency
    rule_id: str | None
    explanation: list[str]
    cursor: Cursor  # the team's rotation state after this decision

    @property
    def queued(self) -> bool:
        return self.rep_id is None


def decide(config: RoutingConfig, lead: dict[str, Any], *, states: dict[str, RepState],
           cursors: dict[str, Cursor], now: datetime, exclude: frozenset[str] = frozenset(),
           team_override: str | None = None, owner: OwnerCandidate | None = None,
           outcome: RuleOutcome | None = None) -> Decision:
    """Decide who gets ``lead``. Deterministic: the same config, state and lead give the same decision.

    ``outcome`` may carry the rule match already computed by the caller.
    """
    outcome = outcome or match_rules(config, lead)
    explanation = list(outcome.explanation)
    if owner is not None and owner.rep_id not in exclude:
        owner_team = next((t for t in config.teams if t.id == owner.team), None)
        rep = next((r for r in owner_team.reps if r.id == owner.rep_id), None) if owner_team else None
        if owner_team is not None and rep is not None:
            reason = unavailable_reason(rep, owner_team, states.get(rep.id, RepState()), now)
            if reason is None:
                explanation.append(f"owner: {rep.id} owns this contact ({owner.why})")
                return Decision(owner_team.id, rep.id, outcome.urgency, outcome.rule_id, explanation,
                                cursors.get(owner_team.id, Cursor()))
            explanation.append(f"owner: {owner.why}, but {reason}")
        else:
            explanation.append(f"owner: {owner.why}, but {owner.rep_id} is no longer in team {owner.team}")
    team_id = team_override or outcome.team
    if team_override and team_override != outcome.team:
        explanation.append(f"sent to team {team_override} instead of {outcome.team}")
    pick = pick_rep(config.team(team_id), states, cursors.get(team_id, Cursor()), now, exclude=exclude)
    explanation.extend(pick.explanation)
    if pick.rep_id is None:
        explanation.append(f"the lead waits in team {team_id}'s queue")
    return Decision(team_id, pick.rep_id, outcome.urgency, outcome.rule_id, explanation, pick.cursor)
