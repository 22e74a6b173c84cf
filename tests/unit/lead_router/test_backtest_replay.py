"""Replaying stored leads through a draft: rules, rotation, open leads closed by their real touch, queues,
ownership and the start state, counted against what actually happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lead_router.domain.availability import RepState
from lead_router.domain.backtest import EarlierOwner, Placement, Replay, StoredLead
from lead_router.domain.config import parse_document
from tests.unit.lead_router.factories import document

START = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday, 10:00 in New York
US = {"country": "US", "intent": "demo_request", "source": "web_form"}
BR = {"country": "BR", "source": "web_form"}


def _lead(n: int, data: dict[str, Any], actual: Placement, *, minutes: float | None = None,
          touched_after: float | None = None) -> StoredLead:
    received = START + timedelta(minutes=n if minutes is None else minutes)
    touched = None if touched_after is None else received + timedelta(minutes=touched_after)
    return StoredLead(f"lead-{n}", data, received, actual, touched)


def _replay(doc: dict[str, Any], leads: list[StoredLead], *, reps: dict[str, RepState] | None = None,
            end: datetime | None = None) -> Any:
    replay = Replay(parse_document(doc), reps=reps or {})
    replay.feed_many(leads)
    return replay.finish(end or START + timedelta(days=1))


def test_the_current_document_reproduces_what_it_decided() -> None:
    actual = ["rep-a", "rep-b", "rep-c", "rep-a"]
    leads = [_lead(n, US, Placement("na", rep, "hot")) for n, rep in enumerate(actual)]
    leads.append(_lead(9, BR, Placement("desk", "rep-x", "warm")))
    outcome = _replay(document(), leads)
    assert outcome.leads == 5 and outcome.changed == 0
    assert outcome.teams() == [{"team": "desk", "actual": 1, "draft": 1}, {"team": "na", "actual": 4, "draft": 4}]


def test_a_rule_sending_us_demos_to_the_desk_moves_them_and_their_urgency() -> None:
    leads = [_lead(n, US, Placement("na", rep, "hot")) for n, rep in enumerate(["rep-a", "rep-b"])]
    draft = document(rules=[{"id": "us-demo", "priority": 10, "match": {"country": ["US"]}, "team": "desk",
                             "urgency": "cold"}])
    outcome = _replay(draft, leads)
    assert outcome.changed == 2
    assert outcome.reps() == [{"rep_id": "rep-x", "team": "desk", "actual": 0, "draft": 2},
                              {"rep_id": "rep-a", "team": "na", "actual": 1, "draft": 0},
                              {"rep_id": "rep-b", "team": "na", "actual": 1, "draft": 0}]
    assert outcome.by_rep_urgency()["draft"] == [{"rep_id": "rep-x", "team": "desk", "urgency": "cold", "count": 2}]


def test_a_lead_stays_open_until_its_real_first_touch() -> None:
    draft = document(strategy="least_loaded", reps=[{"id": "rep-a", "capacity": 1}, {"id": "rep-b"}])
    leads = [_lead(0, US, Placement("na", "rep-a", "hot"), touched_after=5),  # rep-a open until minute 5
             _lead(1, US, Placement("na", "rep-b", "hot"), touched_after=60),  # rep-a at capacity: rep-b
             _lead(10, US, Placement("na", "rep-a", "hot"))]  # rep-a free again, and least loaded
    outcome = _replay(draft, leads)
    assert outcome.changed == 0


def test_leads_open_at_the_start_count_against_capacity() -> None:
    draft = document(reps=[{"id": "rep-a", "capacity": 1}, {"id": "rep-b"}])
    replay = Replay(parse_document(draft), reps={})
    replay.open_lead("rep-a", START + timedelta(minutes=30))
    replay.feed(_lead(0, US, Placement("na", "rep-a", "hot")))
    replay.feed(_lead(40, US, Placement("na", "rep-a", "hot")))
    outcome = replay.finish(START + timedelta(days=1))
    assert [r for r in outcome.reps() if r["draft"]] == [{"rep_id": "rep-a", "team": "na", "actual": 2, "draft": 1},
                                                         {"rep_id": "rep-b", "team": "na", "actual": 0, "draft": 1}]


def test_todays_inactive_rep_gets_nothing_but_an_out_of_office_period_is_not_applied_to_the_past() -> None:
    leads = [_lead(n, US, Placement("na", rep, "hot")) for n, rep in enumerate(["rep-a", "rep-b", "rep-c"])]
    reps = {"rep-a": RepState(active=False), "rep-b": RepState(out_of_office_until=START + timedelta(days=30))}
    outcome = _replay(document(), leads, reps=reps)
    assert {r["rep_id"]: r["draft"] for r in outcome.reps()} == {"rep-a": 0, "rep-b": 2, "rep-c": 1}


def test_a_lead_outside_working_hours_waits_and_is_placed_when_the_team_opens() -> None:
    hours = {"days": {"wed": ["09:00", "17:00"], "thu": ["09:00", "17:00"]}}
    draft = document(working_hours=hours, reps=[{"id": "rep-a", "timezone": "UTC"}])
    night = START.replace(hour=22)
    leads = [StoredLead("late", US, night, Placement("na", "rep-a", "hot"), None),
             StoredLead("morning", US, night + timedelta(hours=11), Placement("na", "rep-a", "hot"), None)]
    assert _replay(draft, leads).changed == 0
    waiting = _replay(draft, leads[:1], end=night + timedelta(hours=1))
    assert waiting.reps() == [{"rep_id": None, "team": "na", "actual": 0, "draft": 1},
                              {"rep_id": "rep-a", "team": "na", "actual": 1, "draft": 0}]


def test_a_queue_timeout_sends_the_waiting_lead_to_the_fallback_team() -> None:
    draft = document(reps=[{"id": "rep-a", "capacity": 0}], queue_timeout_minutes=10)
    leads = [_lead(0, US, Placement("desk", "rep-x", "hot")), _lead(11, BR, Placement("desk", "rep-x", "warm"))]
    outcome = _replay(draft, leads)
    assert outcome.changed == 0 and outcome.teams() == [{"team": "desk", "actual": 2, "draft": 2}]


def test_a_returning_contact_goes_to_the_rep_who_owned_it_before_the_period() -> None:
    replay = Replay(parse_document(document()), reps={})
    replay.earlier_owner(EarlierOwner("pat@acme.com", "rep-c", "na", "old", START - timedelta(days=3)))
    replay.feed(_lead(0, {**US, "email": "pat@acme.com"}, Placement("na", "rep-c", "hot")))
    replay.feed(_lead(1, {**US, "email": "new@other.com"}, Placement("na", "rep-a", "hot")))
    assert replay.finish(START + timedelta(days=1)).changed == 0
