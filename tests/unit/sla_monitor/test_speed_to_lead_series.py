"""Speed to lead over time: UTC day and Monday-week buckets, one point per bucket, figures per group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sla_monitor.domain.reports import ClockFacts
from sla_monitor.domain.series import (
    MAX_POINTS,
    BadWindow,
    bucket_start,
    bucket_starts,
    default_from,
    series,
    series_rows,
    summaries,
    summary,
    window,
)

WED = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)  # a Wednesday


def _fact(group: str, lead_id: str, state: str, seconds: float | None, touches: int, at: datetime) -> ClockFacts:
    return ClockFacts(group, lead_id, state, seconds, touches, at)


def test_buckets_are_utc_days_and_weeks_starting_on_monday() -> None:
    berlin_midnight = datetime.fromisoformat("2026-11-26T00:30:00+01:00")  # still the 25th in UTC
    assert bucket_start(berlin_midnight, "day") == datetime(2026, 11, 25, tzinfo=UTC)
    assert bucket_start(WED, "week") == datetime(2026, 11, 23, tzinfo=UTC)
    assert bucket_starts(datetime(2026, 11, 24, 12, tzinfo=UTC), WED, "day") == [
        datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC)]


def test_the_default_window_is_30_days_or_12_weeks_of_whole_buckets() -> None:
    assert len(bucket_starts(default_from(WED, "day"), WED, "day")) == 30
    weeks = bucket_starts(default_from(WED, "week"), WED, "week")
    assert len(weeks) == 12 and weeks[-1] == datetime(2026, 11, 23, tzinfo=UTC)


def test_a_window_with_too_many_points_is_refused() -> None:
    assert len(bucket_starts(WED - timedelta(days=MAX_POINTS - 1), WED, "day")) == MAX_POINTS
    with pytest.raises(BadWindow, match="bucket=week"):
        bucket_starts(WED - timedelta(days=MAX_POINTS), WED, "day")


def test_the_window_defaults_to_now_and_must_not_be_empty() -> None:
    assert window(None, None, "day", now=WED) == (datetime(2026, 10, 27, tzinfo=UTC), WED)
    with pytest.raises(BadWindow, match="from must be earlier than to"):
        window(WED, WED, "day", now=WED)


@pytest.mark.parametrize(("start", "end"), [
    (None, datetime(1, 1, 1, tzinfo=UTC)),  # the default 30 days before would be before year 1
    (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), None),  # in UTC, before year 1
])
def test_a_window_off_the_calendar_is_refused_not_an_overflow(start: datetime | None, end: datetime | None) -> None:
    with pytest.raises(BadWindow, match="between the years 1 and 9999"):
        window(start, end, "week", now=WED)


def test_within_sla_counts_only_decided_clocks_and_empty_figures_are_none() -> None:
    facts = [_fact("na", "l1", "met", 60.0, 3, WED), _fact("na", "l2", "breached", 4000.0, 1, WED),
             _fact("na", "l3", "running", None, 0, WED), _fact("na", "l4", "met", 30.0, 1, WED)]
    assert summary(facts) == {"leads": 4, "median_seconds": 60.0, "p90_seconds": 4000.0, "within_sla_pct": 66.7,
                              "touches_per_lead": 1.25}
    assert summary([_fact("na", "l3", "running", None, 0, WED)])["within_sla_pct"] is None
    assert summary([]) == {"leads": 0, "median_seconds": None, "p90_seconds": None, "within_sla_pct": None,
                           "touches_per_lead": None}
    assert set(summaries(facts + [_fact("emea", "l9", "met", 5.0, 1, WED)])) == {"na", "emea"}


def test_every_group_gets_a_point_for_every_bucket_and_facts_outside_the_window_are_left_out() -> None:
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    facts = [_fact("na", "l1", "met", 60.0, 2, monday + timedelta(hours=9)),
             _fact("na", "l2", "breached", None, 0, monday + timedelta(hours=23, minutes=59)),
             _fact("emea", "l3", "met", 10.0, 1, WED),
             _fact("emea", "early", "met", 1.0, 1, monday - timedelta(seconds=1)),
             _fact("emea", "late", "met", 1.0, 1, WED + timedelta(days=1))]
    emea, na = series(facts, start=monday, end=WED + timedelta(hours=1), bucket="day")
    assert [p["start"] for p in na["points"]] == ["2026-11-23T00:00:00+00:00", "2026-11-24T00:00:00+00:00",
                                                 "2026-11-25T00:00:00+00:00"]
    assert na["points"][0] == {"start": "2026-11-23T00:00:00+00:00", "leads": 2, "median_seconds": 60.0,
                               "p90_seconds": 60.0, "within_sla_pct": 50.0, "touches_per_lead": 1.0}
    assert [p["leads"] for p in na["points"]] == [2, 0, 0] and na["points"][1]["median_seconds"] is None
    assert emea["group"] == "emea" and [p["leads"] for p in emea["points"]] == [0, 0, 1]
    rows = series_rows([emea, na])
    assert len(rows) == 6 and rows[0]["group"] == "emea" and rows[0]["start"] == "2026-11-23T00:00:00+00:00"
