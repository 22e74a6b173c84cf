"""Predicting the share of leads answered within SLA for a spread of leads over reps (a backtest's draft and
actual), from each rep's observed first responses.

For a rep and an urgency, the prediction is the share of the rep's observed clocks (of any urgency: how fast a
rep answers is the rep's own) that would have met the *current* policy window of that urgency: answered by
the due time that window gives from the clock's start (in business hours when the policy has them). A clock
never answered counts as late once that due time has passed (breached or cancelled after it); one still
running inside the window, or cancelled before it, tells nothing and is left out. A rep with fewer than
``MIN_SAMPLES`` judged clocks falls back to the team's clocks, then to everyone's; queued leads (no rep) use
their team's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sla_monitor.domain.policies import PolicySet

MIN_SAMPLES = 10


@dataclass(frozen=True)
class Observation:
    """A first-response clock as it happened."""

    rep_id: str | None
    team: str
    state: str  # running | met | breached | cancelled
    started_at: datetime
    responded_at: datetime | None
    cancelled_at: datetime | None


@dataclass(frozen=True)
class Demand:
    """``count`` leads of ``urgency`` going to ``rep_id`` (None: waiting in the team's queue) of ``team``."""

    rep_id: str | None
    team: str
    urgency: str
    count: int


@dataclass(frozen=True)
class Rate:
    pct: float | None
    samples: int
    basis: str | None  # rep | team | everyone; None when nothing was observed


def judged(observation: Observation, due: datetime, now: datetime) -> bool | None:
    """Whether the clock was answered by ``due``; None when it cannot tell yet (or was cancelled before)."""
    if observation.responded_at is not None:
        return observation.responded_at <= due
    ended = observation.cancelled_at or now
    return False if ended >= due else None


def _due_function(policies: PolicySet, urgency: str) -> Callable[[datetime], datetime]:
    policy = policies.for_urgency(urgency)
    if policy.business_hours is None:
        return lambda started: started + policy.first_response
    calendar = policy.business_hours.calendar()
    return lambda started: calendar.add(started, policy.first_response)


class Predictor:
    """Rates of reps, teams and everyone for each urgency, judged lazily and cached."""

    def __init__(self, observations: list[Observation], policies: PolicySet, now: datetime) -> None:
        self._observations = observations
        self._policies = policies
        self._now = now
        self._by_rep: dict[str, list[int]] = defaultdict(list)
        self._by_team: dict[str, list[int]] = defaultdict(list)
        for index, observation in enumerate(observations):
            if observation.rep_id is not None:
                self._by_rep[observation.rep_id].append(index)
            self._by_team[observation.team].append(index)
        self._judged: dict[str, list[bool | None]] = {}
        self._cache: dict[tuple[str, str, str], tuple[int, int]] = {}

    def _verdicts(self, urgency: str) -> list[bool | None]:
        if urgency not in self._judged:
            due = _due_function(self._policies, urgency)
            self._judged[urgency] = [judged(o, due(o.started_at), self._now) for o in self._observations]
        return self._judged[urgency]

    def _tally(self, kind: str, key: str, urgency: str) -> tuple[int, int]:
        """(within, judged) over the pool ``kind``/``key``."""
        if (kind, key, urgency) not in self._cache:
            verdicts = self._verdicts(urgency)
            pool = self._by_rep.get(key, []) if kind == "rep" else self._by_team.get(key, []) if kind == "team" \
                else range(len(self._observations))
            known = [verdicts[i] for i in pool if verdicts[i] is not None]
            self._cache[kind, key, urgency] = (sum(1 for v in known if v), len(known))
        return self._cache[kind, key, urgency]

    def rate(self, rep_id: str | None, team: str, urgency: str) -> Rate:
        pools = ([("rep", rep_id)] if rep_id is not None else []) + [("team", team), ("everyone", "")]
        for kind, key in pools:
            within, total = self._tally(kind, key, urgency)
            if total >= MIN_SAMPLES or (kind == "everyone" and total):
                return Rate(round(100 * within / total, 1), total, kind)
        return Rate(None, 0, None)


def _weighted(pairs: list[tuple[int, float | None]]) -> float | None:
    known = [(n, pct) for n, pct in pairs if pct is not None and n > 0]
    total = sum(n for n, _ in known)
    return round(sum(n * pct for n, pct in known) / total, 1) if total else None


def predict(scenarios: dict[str, list[Demand]], observations: list[Observation], policies: PolicySet,
            now: datetime) -> dict[str, Any]:
    """Per scenario, the predicted % within SLA overall and per rep; and the % actually met, observed."""
    predictor = Predictor(observations, policies, now)
    answer: dict[str, Any] = {}
    for name, demands in scenarios.items():
        per_rep: dict[tuple[str | None, str], list[tuple[int, Rate]]] = defaultdict(list)
        for demand in demands:
            per_rep[demand.rep_id, demand.team].append(
                (demand.count, predictor.rate(demand.rep_id, demand.team, demand.urgency)))
        reps: list[dict[str, Any]] = []
        totals: list[tuple[int, float | None]] = []
        for (rep_id, team), rates in sorted(per_rep.items(), key=lambda kv: (kv[0][1], kv[0][0] or "")):
            bases = {rate.basis for _, rate in rates if rate.basis}
            leads, pct = sum(n for n, _ in rates), _weighted([(n, rate.pct) for n, rate in rates])
            totals.append((leads, pct))
            reps.append({"rep_id": rep_id, "team": team, "leads": leads, "predicted_within_sla_pct": pct,
                         "samples": max(rate.samples for _, rate in rates),
                         "basis": bases.pop() if len(bases) == 1 else ("mixed" if bases else None)})
        answer[name] = {"predicted_within_sla_pct": _weighted(totals), "reps": reps}
    decided = [o for o in observations if o.state in ("met", "breached")]
    observed = round(100 * sum(o.state == "met" for o in decided) / len(decided), 1) if decided else None
    return {"scenarios": answer, "observed_within_sla_pct": observed}
