"""The response clock as a pure state machine: a 30-minute window tested by passing times, not by waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sla_monitor.domain.clock import (
    Breached,
    Met,
    Recycled,
    ResponseClock,
    Warned,
    cancel,
    record_touch,
    start_clock,
    tick,
)
from sla_monitor.domain.policies import Policy

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HOT = Policy.model_validate({"first_response": "30m", "warn_before": "5m"})
MIN = timedelta(minutes=1)


def _run(clock: ResponseClock, policy: Policy, *moments: datetime) -> tuple[ResponseClock, list[object]]:
    everything: list[object] = []
    for moment in moments:
        clock, happened = tick(clock, policy, now=moment)
        everything.extend(happened)
    return clock, everything


def test_a_hot_clock_warns_once_at_25_minutes_and_breaches_once_at_30() -> None:
    clock = start_clock(HOT, assigned_at=T0)
    assert (clock.due_at, clock.warn_at, clock.next_action_at(HOT)) == (T0 + 30 * MIN, T0 + 25 * MIN, T0 + 25 * MIN)
    clock, happened = _run(clock, HOT, T0 + 24 * MIN, T0 + 25 * MIN, T0 + 26 * MIN, T0 + 29 * MIN)
    assert happened == [Warned(T0 + 30 * MIN)]
    assert clock.next_action_at(HOT) == T0 + 30 * MIN
    clock, happened = _run(clock, HOT, T0 + 30 * MIN, T0 + 31 * MIN, T0 + 90 * MIN)
    assert happened == [Breached(T0 + 30 * MIN, level=1)]
    assert clock.state == "breached" and clock.breached_at == T0 + 30 * MIN
    assert clock.next_action_at(HOT) is None


def test_the_first_outbound_touch_meets_the_clock_with_its_response_time() -> None:
    clock = start_clock(HOT, assigned_at=T0)
    clock, happened = record_touch(clock, HOT, at=T0 + 7 * MIN, outbound=True)
    assert clock.state == "met" and happened == [Met(420.0)] and clock.response_seconds == 420.0
    assert _run(clock, HOT, T0 + 25 * MIN, T0 + 31 * MIN)[1] == []
    assert clock.next_action_at(HOT) is None


def test_touches_before_the_assignment_and_inbound_touches_do_not_meet_it() -> None:
    clock = start_clock(HOT, assigned_at=T0)
    for kwargs in ({"at": T0 - MIN, "outbound": True}, {"at": T0 + MIN, "outbound": False}):
        unchanged, happened = record_touch(clock, HOT, **kwargs)  # type: ignore[arg-type]
        assert unchanged == clock and happened == []


def test_a_touch_after_the_deadline_is_a_breach_then_a_late_response_not_a_met() -> None:
    clock = start_clock(HOT, assigned_at=T0)
    clock, happened = record_touch(clock, HOT, at=T0 + 45 * MIN, outbound=True)
    assert happened == [Breached(T0 + 30 * MIN, level=1)]
    assert clock.state == "breached" and clock.response_seconds == 45 * 60


def test_a_touch_made_in_time_but_reported_after_the_breach_alert_still_meets_the_clock() -> None:
    clock, happened = _run(start_clock(ESCALATING, assigned_at=T0), ESCALATING, T0 + 30 * MIN)
    assert happened == [Breached(T0 + 30 * MIN, level=1)]
    clock, happened = record_touch(clock, ESCALATING, at=T0 + 29 * MIN, outbound=True)
    assert clock.state == "met" and happened == [Met(29 * 60.0)]
    assert clock.breached_at == T0 + 30 * MIN  # the alert that went out stays in the history
    assert clock.next_action_at(ESCALATING) is None and _run(clock, ESCALATING, T0 + 300 * MIN)[1] == []


def test_a_touch_exactly_at_the_deadline_still_meets_it() -> None:
    clock, happened = record_touch(start_clock(HOT, assigned_at=T0), HOT, at=T0 + 30 * MIN, outbound=True)
    assert clock.state == "met" and happened == [Met(1800.0)]


def test_cancel_stops_a_running_clock_for_good() -> None:
    clock = cancel(start_clock(HOT, assigned_at=T0), at=T0 + MIN)
    assert clock.state == "cancelled" and clock.next_action_at(HOT) is None
    assert _run(clock, HOT, T0 + 40 * MIN)[1] == []
    assert record_touch(clock, HOT, at=T0 + 2 * MIN, outbound=True)[1] == []


def test_the_clock_can_start_when_the_lead_was_received_or_captured() -> None:
    received, captured = T0 - 10 * MIN, T0 - 3 * timedelta(hours=1)
    by_receipt = Policy.model_validate({"first_response": "30m", "clock_starts": "received"})
    by_capture = Policy.model_validate({"first_response": "24h", "clock_starts": "captured"})
    assert start_clock(by_receipt, assigned_at=T0, received_at=received).due_at == received + 30 * MIN
    assert start_clock(by_capture, assigned_at=T0, received_at=received, captured_at=captured).due_at == \
        captured + timedelta(hours=24)
    assert start_clock(by_capture, assigned_at=T0, received_at=received).started_at == received


def test_business_hours_move_the_deadline_to_working_time() -> None:
    policy = Policy.model_validate({"first_response": "30m", "business_hours": {
        "timezone": "Europe/Berlin", "hours": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}}})
    saturday_night = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 02:00 in Berlin
    assert start_clock(policy, assigned_at=saturday_night).due_at == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)


ESCALATING = Policy.model_validate({"first_response": "30m", "escalation": [
    {"after": "15m", "reassign": False}, {"after": "60m", "reassign": True}]})


def test_escalation_levels_fire_in_order_while_the_lead_stays_untouched() -> None:
    clock, happened = _run(start_clock(ESCALATING, assigned_at=T0), ESCALATING,
                           T0 + 30 * MIN, T0 + 44 * MIN, T0 + 45 * MIN, T0 + 89 * MIN, T0 + 90 * MIN, T0 + 300 * MIN)
    assert happened == [Breached(T0 + 30 * MIN, level=1), Breached(T0 + 30 * MIN, level=2),
                        Breached(T0 + 30 * MIN, level=3, reassign=True)]
    assert clock.escalation_level == 3 and clock.next_action_at(ESCALATING) is None


def test_a_late_touch_stops_further_escalation() -> None:
    clock, _ = _run(start_clock(ESCALATING, assigned_at=T0), ESCALATING, T0 + 30 * MIN)
    clock, _ = record_touch(clock, ESCALATING, at=T0 + 40 * MIN, outbound=True)
    assert clock.next_action_at(ESCALATING) is None
    assert _run(clock, ESCALATING, T0 + 200 * MIN)[1] == []


CADENCE = Policy.model_validate({"first_response": "30m",
                                 "follow_up": {"touches": 3, "within": "14d", "max_gap": "3d"}})
DAY = timedelta(days=1)


def test_a_gap_longer_than_max_gap_is_one_follow_up_breach_per_gap() -> None:
    clock, _ = record_touch(start_clock(CADENCE, assigned_at=T0), CADENCE, at=T0 + MIN, outbound=True)
    assert clock.next_action_at(CADENCE) == T0 + MIN + 3 * DAY
    clock, happened = _run(clock, CADENCE, T0 + 2 * DAY, T0 + MIN + 3 * DAY, T0 + 5 * DAY)
    assert happened == [Breached(T0 + MIN + 3 * DAY, level=1, policy="follow_up")]
    clock, _ = record_touch(clock, CADENCE, at=T0 + 6 * DAY, outbound=True)
    assert clock.touches == 2 and clock.next_action_at(CADENCE) == T0 + 9 * DAY
    assert _run(clock, CADENCE, T0 + 9 * DAY)[1] == [Breached(T0 + 9 * DAY, level=1, policy="follow_up")]


def test_a_cadence_that_ends_without_a_reply_recycles_the_lead_once() -> None:
    clock, _ = record_touch(start_clock(CADENCE, assigned_at=T0), CADENCE, at=T0, outbound=True)
    for day in (2, 4):
        clock, _ = record_touch(clock, CADENCE, at=T0 + day * DAY, outbound=True)
    assert clock.touches == 3 and clock.next_action_at(CADENCE) == T0 + 14 * DAY
    clock, happened = _run(clock, CADENCE, T0 + 13 * DAY, T0 + 14 * DAY, T0 + 20 * DAY)
    assert happened == [Recycled(touches=3)]
    assert clock.follow_up == "recycled" and clock.next_action_at(CADENCE) is None


def test_a_reply_ends_the_cadence_without_recycling() -> None:
    clock, _ = record_touch(start_clock(CADENCE, assigned_at=T0), CADENCE, at=T0, outbound=True)
    clock, happened = record_touch(clock, CADENCE, at=T0 + DAY, outbound=False, reply=True)
    assert happened == [] and clock.follow_up == "replied"
    assert clock.next_action_at(CADENCE) is None and _run(clock, CADENCE, T0 + 30 * DAY)[1] == []


def test_next_action_at_is_exactly_when_tick_has_something_to_do() -> None:
    clock = start_clock(HOT, assigned_at=T0)
    while (due := clock.next_action_at(HOT)) is not None:
        assert tick(clock, HOT, now=due - timedelta(milliseconds=1))[1] == []
        clock, happened = tick(clock, HOT, now=due)
        assert happened
    assert clock.state == "breached"
