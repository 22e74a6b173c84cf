"""Business calendars: SLA time that only runs during a team's working hours.

Hours are read in the calendar's IANA time zone, so a window crossing a daylight-saving change keeps local
opening times (09:00 stays 09:00) while the elapsed real time is counted correctly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.events.weekdays import weekday_of


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str
    #: weekday -> list of (open, close) local times; days not listed are closed
    hours: dict[str, list[tuple[time, time]]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        zone = ZoneInfo(self.timezone)
        # In UTC, so that adding a timedelta counts real elapsed time across daylight-saving changes.
        spans = self.hours.get(weekday_of(day), [])
        return [(datetime.combine(day, opens, zone).astimezone(UTC),
                 datetime.combine(day, closes, zone).astimezone(UTC)) for opens, closes in spans]

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of working time after ``start`` has elapsed."""
        remaining = duration
        start = start.astimezone(UTC)
        day = start.astimezone(ZoneInfo(self.timezone)).date()
        for _ in range(3 * 366):  # a calendar with hours reaches any duration well within this
            for opens, closes in self._intervals(day):
                begin = max(opens, start)
                if begin >= closes:
                    continue
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("The business calendar has no working hours within three years.")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time elapsed from ``start`` to ``end`` (zero when ``end`` is not after ``start``)."""
        total = timedelta(0)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        day = start.astimezone(ZoneInfo(self.timezone)).date()
        last = end.astimezone(ZoneInfo(self.timezone)).date()
        while day <= last:
            for opens, closes in self._intervals(day):
                begin, finish = max(opens, start), min(closes, end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total
