"""Business calendars: SLA time runs only in working hours, in the team's time zone, across DST and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sla_monitor.domain.calendars import BusinessCalendar

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = {d: [(time(9), time(17))] for d in ("mon", "tue", "wed", "thu", "fri")}


def test_a_hot_lead_arriving_saturday_2am_is_due_monday_0930_berlin_time() -> None:
    calendar = BusinessCalendar("Europe/Berlin", WEEKDAYS_9_TO_5)
    due = calendar.add(datetime(2026, 11, 28, 2, 0, tzinfo=BERLIN), timedelta(minutes=30))
    assert due == datetime(2026, 11, 30, 9, 30, tzinfo=BERLIN)


def test_time_left_at_closing_carries_over_to_the_next_morning() -> None:
    calendar = BusinessCalendar("Europe/Berlin", WEEKDAYS_9_TO_5)
    due = calendar.add(datetime(2026, 11, 27, 16, 45, tzinfo=BERLIN), timedelta(minutes=30))  # a Friday
    assert due == datetime(2026, 11, 30, 9, 15, tzinfo=BERLIN)


def test_a_24_hour_window_is_three_working_days_of_eight_hours() -> None:
    calendar = BusinessCalendar("Europe/Berlin", WEEKDAYS_9_TO_5)
    due = calendar.add(datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN), timedelta(hours=24))
    assert due == datetime(2026, 11, 27, 17, 0, tzinfo=BERLIN)


def test_holidays_are_skipped() -> None:
    calendar = BusinessCalendar("Europe/Berlin", WEEKDAYS_9_TO_5, frozenset({date(2026, 12, 24), date(2026, 12, 25)}))
    due = calendar.add(datetime(2026, 12, 23, 16, 30, tzinfo=BERLIN), timedelta(hours=1))
    assert due == datetime(2026, 12, 28, 9, 30, tzinfo=BERLIN)


def test_a_lunch_break_does_not_count() -> None:
    calendar = BusinessCalendar("Europe/Berlin", {"mon": [(time(9), time(12)), (time(13), time(17))]})
    due = calendar.add(datetime(2026, 11, 30, 11, 30, tzinfo=BERLIN), timedelta(hours=1))
    assert due == datetime(2026, 11, 30, 13, 30, tzinfo=BERLIN)


def test_opening_hours_keep_local_time_across_the_spring_change_in_berlin() -> None:
    # Clocks go forward on Sunday 2026-03-29; opening is 09:00 local on both sides (08:00 UTC vs 07:00 UTC).
    calendar = BusinessCalendar("Europe/Berlin", WEEKDAYS_9_TO_5)
    due = calendar.add(datetime(2026, 3, 27, 16, 30, tzinfo=BERLIN), timedelta(hours=1))
    assert due == datetime(2026, 3, 30, 9, 30, tzinfo=BERLIN)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)


def test_a_window_open_across_the_autumn_change_counts_real_hours() -> None:
    # New York falls back on Sunday 2026-11-01 at 02:00: a night shift 00:00-06:00 that day lasts 7 real hours.
    calendar = BusinessCalendar("America/New_York", {"sun": [(time(0), time(6))]})
    start = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)
    assert calendar.working_time_between(start, start + timedelta(days=1)) == timedelta(hours=7)
    assert calendar.add(start, timedelta(hours=7)).astimezone(NEW_YORK).replace(tzinfo=None) == \
        datetime(2026, 11, 1, 6, 0)


def test_working_time_between_two_moments_skips_nights_and_weekends() -> None:
    calendar = BusinessCalendar("Europe/Berlin", WEEKDAYS_9_TO_5)
    start = datetime(2026, 11, 27, 16, 0, tzinfo=BERLIN)
    end = datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)
    assert calendar.working_time_between(start, end) == timedelta(hours=2)
