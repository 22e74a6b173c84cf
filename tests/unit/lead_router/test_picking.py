"""Picking a rep: strategies, availability and ownership, each decision explained in words."""

from __future__ import annotations

from datetime import UTC, datetime

from lead_router.domain.availability import RepState
from lead_router.domain.decision import OwnerCandidate, decide
from lead_router.domain.strategies import Cursor, pick_rep
from tests.unit.lead_router.factories import config

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday; 10:00 in New York, 16:00 in Berlin
LEAD = {"country": "US", "intent": "demo_request"}


def _team(**kwargs: object):  # type: ignore[no-untyped-def]
    return config(**kwargs).team("na")


def test_round_robin_takes_the_next_rep_after_the_last_one_and_wraps() -> None:
    team = _team()
    first = pick_rep(team, {}, Cursor(), NOW)
    assert first.rep_id == "rep-a" and first.explanation == ["round robin: rep-a first in team na"]
    after_c = pick_rep(team, {}, Cursor("rep-c"), NOW)
    assert after_c.rep_id == "rep-a" and after_c.explanation == ["round robin: rep-a next after rep-c"]


def test_unavailable_reps_are_skipped_and_the_reason_is_given() -> None:
    states = {"rep-b": RepState(out_of_office_until=datetime(2026, 12, 1, tzinfo=UTC)),
              "rep-c": RepState(active=False)}
    pick = pick_rep(_team(), states, Cursor("rep-a"), NOW)
    assert pick.rep_id == "rep-a"
    assert pick.explanation == ["round robin: rep-a next after rep-a; rep-b out of office until 2026-12-01; "
                                "rep-c is inactive"]


def test_out_of_office_ends_at_its_time() -> None:
    states = {"rep-a": RepState(out_of_office_until=NOW)}
    assert pick_rep(_team(), states, Cursor(), NOW).rep_id == "rep-a"


def test_a_rep_at_capacity_is_skipped_and_a_patched_capacity_wins_over_the_document() -> None:
    team = _team(reps=[{"id": "rep-a", "capacity": 2}, {"id": "rep-b"}])
    assert pick_rep(team, {"rep-a": RepState(open_leads=2)}, Cursor(), NOW).explanation[0].endswith(
        "rep-a at capacity (2/2 open leads)")
    assert pick_rep(team, {"rep-a": RepState(open_leads=2, capacity=5)}, Cursor(), NOW).rep_id == "rep-a"


def test_working_hours_are_read_in_each_reps_own_time_zone() -> None:
    team = _team(reps=[{"id": "rep-ny", "timezone": "America/New_York"},
                       {"id": "rep-berlin", "timezone": "Europe/Berlin"}],
                 working_hours={"days": {d: ["09:00", "12:00"] for d in ("mon", "tue", "wed", "thu", "fri")}})
    pick = pick_rep(team, {}, Cursor(), NOW)
    assert pick.rep_id == "rep-ny"
    assert "rep-berlin outside working hours (16:00 Europe/Berlin)" in pick.explanation[0]


def test_working_hours_follow_daylight_saving_time() -> None:
    team = _team(reps=[{"id": "rep-ny", "timezone": "America/New_York"}],
                 working_hours={"days": {"sun": ["09:00", "17:00"]}})
    # 2026-11-01 is the day New York falls back: 13:30 UTC is 08:30 local, 14:30 UTC is 09:30 local.
    assert pick_rep(team, {}, Cursor(), datetime(2026, 11, 1, 13, 30, tzinfo=UTC)).rep_id is None
    assert pick_rep(team, {}, Cursor(), datetime(2026, 11, 1, 14, 30, tzinfo=UTC)).rep_id == "rep-ny"


def test_nobody_eligible_means_the_lead_waits_in_the_queue() -> None:
    decision = decide(config(), LEAD, states={r: RepState(active=False) for r in ("rep-a", "rep-b", "rep-c")},
                      cursors={}, now=NOW)
    assert decision.queued and decision.team == "na"
    assert decision.explanation[-1] == "the lead waits in team na's queue"


def test_weighted_gives_a_weight_two_rep_twice_the_share_smoothly() -> None:
    team = _team(strategy="weighted", reps=[{"id": "rep-a", "weight": 2}, {"id": "rep-b", "weight": 1}])
    cursor, picks = Cursor(), []
    for _ in range(6):
        pick = pick_rep(team, {}, cursor, NOW)
        picks.append(pick.rep_id)
        cursor = pick.cursor
    assert picks == ["rep-a", "rep-b", "rep-a", "rep-a", "rep-b", "rep-a"]


def test_least_loaded_picks_the_rep_with_fewest_open_leads_and_breaks_ties_by_rotation() -> None:
    team = _team(strategy="least_loaded")
    states = {"rep-a": RepState(open_leads=3), "rep-b": RepState(open_leads=1), "rep-c": RepState(open_leads=1)}
    pick = pick_rep(team, states, Cursor("rep-b"), NOW)
    assert pick.rep_id == "rep-c"
    assert pick.explanation == ["least loaded: rep-c has 1 open lead(s), tied with 1 other(s), taken in "
                                "round-robin order"]


def test_a_returning_contact_goes_to_its_owner_when_the_owner_is_available() -> None:
    owner = OwnerCandidate("rep-c", "na", "same email as lead L1")
    decision = decide(config(), LEAD, states={}, cursors={"na": Cursor("rep-a")}, now=NOW, owner=owner)
    assert decision.rep_id == "rep-c"
    assert decision.explanation[-1] == "owner: rep-c owns this contact (same email as lead L1)"


def test_an_absent_owner_falls_back_to_the_normal_rotation_and_says_why() -> None:
    owner = OwnerCandidate("rep-c", "na", "same email as lead L1")
    decision = decide(config(), LEAD, states={"rep-c": RepState(active=False)}, cursors={}, now=NOW, owner=owner)
    assert decision.rep_id == "rep-a"
    assert "owner: same email as lead L1, but rep-c is inactive" in decision.explanation


def test_reassignment_excludes_the_reps_who_already_had_the_lead() -> None:
    decision = decide(config(), LEAD, states={}, cursors={"na": Cursor("rep-a")}, now=NOW,
                      exclude=frozenset({"rep-b"}))
    assert decision.rep_id == "rep-c"
    assert "rep-b already had this lead" in decision.explanation[-1]
