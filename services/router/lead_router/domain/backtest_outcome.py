"""What a backtest counts: each lead's placement (team, rep, urgency), draft against actual."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

QUEUED = None  # a placement's rep_id while the lead waits in its team's queue


@dataclass(frozen=True)
class Placement:
    team: str
    rep_id: str | None
    urgency: str


@dataclass
class Outcome:
    """Counts of the replay against what happened."""

    leads: int = 0
    changed: int = 0
    actual: Counter[tuple[str, str | None, str]] = field(default_factory=Counter)
    draft: Counter[tuple[str, str | None, str]] = field(default_factory=Counter)

    def teams(self) -> list[dict[str, Any]]:
        actual, draft = Counter[str](), Counter[str]()
        for (team, _, _), n in self.actual.items():
            actual[team] += n
        for (team, _, _), n in self.draft.items():
            draft[team] += n
        return [{"team": t, "actual": actual[t], "draft": draft[t]} for t in sorted(actual.keys() | draft.keys())]

    def reps(self) -> list[dict[str, Any]]:
        actual, draft = Counter[tuple[str, str | None]](), Counter[tuple[str, str | None]]()
        for (team, rep, _), n in self.actual.items():
            actual[team, rep] += n
        for (team, rep, _), n in self.draft.items():
            draft[team, rep] += n
        keys = sorted(actual.keys() | draft.keys(), key=lambda k: (k[0], k[1] or ""))
        return [{"rep_id": rep, "team": team, "actual": actual[team, rep], "draft": draft[team, rep]}
                for team, rep in keys]

    def by_rep_urgency(self) -> dict[str, list[dict[str, Any]]]:
        def rows(counts: Counter[tuple[str, str | None, str]]) -> list[dict[str, Any]]:
            return [{"rep_id": rep, "team": team, "urgency": urgency, "count": n}
                    for (team, rep, urgency), n in sorted(counts.items(), key=lambda kv: (
                        kv[0][0], kv[0][1] or "", kv[0][2]))]

        return {"draft": rows(self.draft), "actual": rows(self.actual)}
