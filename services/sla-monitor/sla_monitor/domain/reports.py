"""Speed-to-lead figures: per group, how many leads, how fast the first response, how many touches."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

COLUMNS = ["group", "leads", "followed_up", "met_within_sla", "breached", "median_first_response_seconds",
           "p90_first_response_seconds", "touches_per_lead"]


@dataclass(frozen=True)
class ClockFacts:
    group: str
    lead_id: str
    state: str
    response_seconds: float | None
    touches: int
    started_at: datetime | None = None  # for series over time


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def speed_to_lead(facts: list[ClockFacts]) -> list[dict[str, Any]]:
    """One row per group, sorted by group name."""
    groups: dict[str, list[ClockFacts]] = defaultdict(list)
    for fact in facts:
        groups[fact.group].append(fact)
    rows = []
    for group, items in sorted(groups.items()):
        leads = {f.lead_id for f in items}
        responses = [f.response_seconds for f in items if f.response_seconds is not None]
        median = percentile(responses, 0.5)
        p90 = percentile(responses, 0.9)
        rows.append({
            "group": group,
            "leads": len(leads),
            "followed_up": len({f.lead_id for f in items if f.response_seconds is not None}),
            "met_within_sla": sum(1 for f in items if f.state == "met"),
            "breached": sum(1 for f in items if f.state == "breached"),
            "median_first_response_seconds": None if median is None else round(median, 3),
            "p90_first_response_seconds": None if p90 is None else round(p90, 3),
            "touches_per_lead": round(sum(f.touches for f in items) / len(leads), 2),
        })
    return rows
