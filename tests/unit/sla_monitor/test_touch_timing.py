"""When a touch counts: CRM clocks drift and round to whole seconds, and meetings are dated in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sla_monitor.domain.clock import Breached, Met, record_touch, start_clock, tick
from sla_monitor.domain.policies import Policy

T0 = datetime(2026, 11, 25, 9, 0, 0, 700000, tzinfo=UTC)
HOT = Policy.model_validate({"first_response": "30m", "warn_before": "5m"})
SEC = timedelta(seconds=1)
SKEW = timedelta(seconds=5)


def test_a_touch_dated_in_the_same_second_as_the_assignment_meets_the_clock_at_once() -> None:
    clock = start_clock(HOT, assigned_at=T0)
    same_second = T0.replace(microsecond=0)  # the CRM reports whole seconds
    met, happened = record_touch(clock, HOT, at=same_second, received_at=T0 + SEC, outbound=True, skew=SKEW)
    assert (met.state, met.responded_at, happened) == ("met", T0, [Met(0.0)])


def test_a_touch_dated_up_to_the_skew_before_the_assignment_counts_and_one_older_does_not() -> None:
    clock = start_clock(HOT, assigned_at=T0)
    assert record_touch(clock, HOT, at=T0 - 5 * SEC, received_at=T0, outbound=True, skew=SKEW)[0].state == "met"
    older, happened = record_touch(clock, HOT, at=T0 - 6 * SEC, received_at=T0, outbound=True, skew=SKEW)
    assert (older, happened) == (clock, [])


def test_the_skew_is_a_parameter_and_zero_means_exact() -> None:
    clock = start_clock(HOT, assigned_at=T0)
    assert record_touch(clock, HOT, at=T0 - SEC, outbound=True, skew=timedelta(0))[0] == clock


def test_a_meeting_dated_after_the_window_but_booked_in_time_meets_the_clock_when_it_arrived() -> None:
    clock = start_clock(HOT, assigned_at=T0)
    arrived = T0 + 10 * 60 * SEC
    met, happened = record_touch(clock, HOT, at=T0 + timedelta(days=7), received_at=arrived, outbound=True)
    assert not any(isinstance(h, Breached) for h in happened)
    assert (met.state, met.responded_at, happened) == ("met", arrived, [Met(600.0)])
    assert tick(met, HOT, now=T0 + timedelta(days=8)) == (met, [])


def test_a_touch_that_arrives_after_the_window_is_still_late() -> None:
    clock = start_clock(HOT, assigned_at=T0)
    late = T0 + 40 * 60 * SEC
    after, happened = record_touch(clock, HOT, at=late + timedelta(days=1), received_at=late, outbound=True)
    assert after.state == "breached" and after.responded_at == late
    assert happened == [Breached(T0 + 30 * 60 * SEC, level=1)]
