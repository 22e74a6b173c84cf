"""Property tests of the routing guarantees: spread, weights, capacity, availability and determinism."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from lead_router.domain.availability import RepState
from lead_router.domain.decision import decide
from lead_router.domain.strategies import Cursor, pick_rep
from tests.unit.lead_router.factories import config

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
EXAMPLES = settings(max_examples=200, deadline=None)


def _reps(count: int, weights: list[int] | None = None) -> list[dict[str, object]]:
    return [{"id": f"rep-{i}", "weight": (weights or [1] * count)[i]} for i in range(count)]


@EXAMPLES
@given(reps=st.integers(1, 8), leads=st.integers(1, 120), unavailable=st.sets(st.integers(0, 7), max_size=6))
def test_round_robin_spread_differs_by_at_most_one_between_eligible_reps(
        reps: int, leads: int, unavailable: set[int]) -> None:
    team = config(reps=_reps(reps)).team("na")
    states = {f"rep-{i}": RepState(active=False) for i in unavailable if i < reps}
    eligible = {f"rep-{i}" for i in range(reps)} - set(states)
    cursor, counts = Cursor(), Counter[str]()
    for _ in range(leads):
        pick = pick_rep(team, states, cursor, NOW)
        cursor = pick.cursor
        if pick.rep_id is not None:
            counts[pick.rep_id] += 1
    if not eligible:
        assert counts == Counter()
        return
    assert set(counts) <= eligible
    spread = [counts.get(rep, 0) for rep in eligible]
    assert max(spread) - min(spread) <= 1


@EXAMPLES
@given(weights=st.lists(st.integers(1, 5), min_size=1, max_size=6), leads=st.integers(1, 150))
def test_weighted_shares_stay_within_one_of_the_exact_proportion(weights: list[int], leads: int) -> None:
    team = config(strategy="weighted", reps=_reps(len(weights), weights)).team("na")
    cursor, counts = Cursor(), Counter[str]()
    for _ in range(leads):
        pick = pick_rep(team, {}, cursor, NOW)
        cursor = pick.cursor
        counts[pick.rep_id or ""] += 1
    total = sum(weights)
    for i, weight in enumerate(weights):
        assert abs(counts[f"rep-{i}"] - leads * weight / total) <= 1


@EXAMPLES
@given(capacities=st.lists(st.integers(0, 5), min_size=1, max_size=5), leads=st.integers(1, 40),
       strategy=st.sampled_from(["round_robin", "weighted", "least_loaded"]))
def test_no_rep_ever_goes_over_capacity(capacities: list[int], leads: int, strategy: str) -> None:
    team = config(strategy=strategy, reps=[{"id": f"rep-{i}", "capacity": c} for i, c in enumerate(capacities)]
                  ).team("na")
    states = {f"rep-{i}": RepState() for i in range(len(capacities))}
    cursor = Cursor()
    for _ in range(leads):
        pick = pick_rep(team, states, cursor, NOW)
        cursor = pick.cursor
        if pick.rep_id is None:
            assert all(states[f"rep-{i}"].open_leads >= c for i, c in enumerate(capacities))
            continue
        states[pick.rep_id] = RepState(open_leads=states[pick.rep_id].open_leads + 1)
    for i, capacity in enumerate(capacities):
        assert states[f"rep-{i}"].open_leads <= capacity


@EXAMPLES
@given(inactive=st.sets(st.integers(0, 3)), away=st.sets(st.integers(0, 3)),
       strategy=st.sampled_from(["round_robin", "weighted", "least_loaded"]), leads=st.integers(1, 30))
def test_inactive_or_out_of_office_reps_are_never_picked(inactive: set[int], away: set[int], strategy: str,
                                                          leads: int) -> None:
    team = config(strategy=strategy, reps=_reps(4)).team("na")
    states = {f"rep-{i}": RepState(active=i not in inactive,
                                   out_of_office_until=datetime(2027, 1, 1, tzinfo=UTC) if i in away else None)
              for i in range(4)}
    cursor = Cursor()
    for _ in range(leads):
        pick = pick_rep(team, states, cursor, NOW)
        cursor = pick.cursor
        if pick.rep_id is not None:
            index = int(pick.rep_id.split("-")[1])
            assert index not in inactive and index not in away


@EXAMPLES
@given(country=st.sampled_from(["US", "CA", "FR", None]), intent=st.sampled_from(["demo_request", "pricing", None]),
       last=st.sampled_from([None, "rep-a", "rep-b", "rep-c"]), open_leads=st.lists(st.integers(0, 3), min_size=3,
                                                                                      max_size=3))
def test_the_same_state_and_lead_always_give_the_same_decision(country: str | None, intent: str | None,
                                                                last: str | None, open_leads: list[int]) -> None:
    routing = config(strategy="least_loaded")
    lead = {"country": country, "intent": intent}
    states = {f"rep-{x}": RepState(open_leads=n) for x, n in zip("abc", open_leads, strict=True)}
    first = decide(routing, lead, states=states, cursors={"na": Cursor(last)}, now=NOW)
    second = decide(routing, dict(lead), states=dict(states), cursors={"na": Cursor(last)}, now=NOW)
    assert first == second
