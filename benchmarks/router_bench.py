"""Routing decision time with a large document: 500 rules and 200 reps, the pure domain only (no I/O).

Most rules do not match, and the matching rule sits late in the priority order, so a decision walks most of
the rule list, as it would in a real territory plan with many narrow rules.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from lead_router.domain.availability import RepState
from lead_router.domain.config import parse_document
from lead_router.domain.decision import decide
from lead_router.domain.strategies import Cursor

RULES, REPS, TEAMS, DECISIONS = 500, 200, 20, 5000
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "NL", "SE", "ES", "IT", "JP", "AU", "BR", "IN", "SG", "MX"]
INDUSTRIES = ["fintech", "banking", "insurance", "retail", "health", "saas", "logistics", "energy", "media"]
STRATEGIES = ["round_robin", "weighted", "least_loaded"]


def build_document(rng: random.Random) -> dict[str, Any]:
    teams = [{"id": f"team-{t}", "strategy": STRATEGIES[t % 3],
              "reps": [{"id": f"rep-{t}-{r}", "weight": 1 + r % 3, "capacity": 50,
                        "timezone": rng.choice(["America/New_York", "Europe/Berlin", "Asia/Tokyo"])}
                       for r in range(REPS // TEAMS)]} for t in range(TEAMS)]
    rules = []
    for i in range(RULES):
        low = rng.choice([None, 10, 50, 200, 1000])
        rules.append({"id": f"rule-{i}", "priority": i, "team": f"team-{i % TEAMS}",
                      "urgency": rng.choice(["hot", "warm", "cold"]), "match": {
                          "country": rng.sample(COUNTRIES, 3), "industry": rng.sample(INDUSTRIES, 2),
                          "employees": {"min": low, "max": None if low is None else low * 20},
                          "intent": ["demo_request", "pricing"]}})
    return {"teams": teams, "rules": rules, "fallback": {"team": "team-0", "urgency": "cold"}}


def main() -> dict[str, Any]:
    rng = random.Random(7)
    config = parse_document(build_document(rng))
    states = {rep.id: RepState(open_leads=rng.randint(0, 40)) for team in config.teams for rep in team.reps}
    cursors = {team.id: Cursor() for team in config.teams}
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    leads = [{"country": rng.choice(COUNTRIES), "industry": rng.choice(INDUSTRIES),
              "employees": rng.randint(1, 50_000), "intent": rng.choice(["demo_request", "pricing", "contact_us"]),
              "source": "web_form"} for _ in range(DECISIONS)]
    timings, rules_tried = [], []
    for lead in leads:
        started = time.perf_counter_ns()
        decision = decide(config, lead, states=states, cursors=cursors, now=now)
        timings.append(time.perf_counter_ns() - started)
        cursors[decision.team] = decision.cursor
        rules_tried.append(sum(line.startswith("rule ") for line in decision.explanation))
    timings.sort()
    result = {"rules": RULES, "reps": REPS, "decisions": DECISIONS,
              "rules_evaluated_median": statistics.median(rules_tried),
              "median_us": round(statistics.median(timings) / 1000, 1),
              "p99_us": round(timings[int(0.99 * (len(timings) - 1))] / 1000, 1)}
    print(result)
    return result


if __name__ == "__main__":
    main()
