"""Speed-to-lead over time: per group and per day or week, the median and p90 first response, the share of
clocks met within the SLA and the touches per lead. Buckets are UTC days, and weeks starting on Monday."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from sla_monitor.domain.reports import ClockFacts, percentile

Bucket = Literal["day", "week"]
SERIES_COLUMNS = ["group", "start", "leads", "median_seconds", "p90_seconds", "within_sla_pct", "touches_per_lead"]
#: A chart with more points than this is unreadable, and the answer would grow without bound.
MAX_POINTS = 400
#: The window when the caller gives no ``from``: 30 days, or 12 weeks.
DEFAULT_SPAN = {"day": timedelta(days=30), "week": timedelta(weeks=12)}
_STEP = {"day": timedelta(days=1), "week": timedelta(weeks=1)}


class BadWindow(ValueError):
    """A window that cannot be charted: empty, reversed, or with more buckets than ``MAX_POINTS``."""



def bucket_start(moment: datetime, bucket: Bucket) -> datetime:
    """The start of the UTC day (or Monday-based week) that holds ``moment``."""
    day = datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def default_from(to: datetime, bucket: Bucket) -> datetime:
    """The start of the default window ending at ``to``: whole buckets covering 30 days, or 12 weeks."""
    return bucket_start(to - DEFAULT_SPAN[bucket] + _STEP[bucket], bucket)


def window(from_: datetime | None, to: datetime | None, bucket: Bucket, *,
           now: datetime) -> tuple[datetime, datetime]:
    """The window ``[start, end)`` to chart: ``to`` defaults to ``now``, ``from`` to ``default_from``;
    ``BadWindow`` (a sentence about ``from``) when it is empty or too long for one series."""
    try:
        end = (to or now).astimezone(UTC)
        start = from_.astimezone(UTC) if from_ else default_from(end, bucket)
        if start >= end:
            raise BadWindow("from must be earlier than to.")
        bucket_starts(start, end, bucket)
    except OverflowError:
        raise BadWindow("from and to must lie between the years 1 and 9999 in UTC, with whole buckets "
                        "around them.") from None
    return start, end


def bucket_starts(start: datetime, end: datetime, bucket: Bucket) -> list[datetime]:
    """The starts of every bucket that overlaps ``[start, end)``; ``BadWindow`` past ``MAX_POINTS``."""
    first = bucket_start(start, bucket)
    count = -(-(end - first) // _STEP[bucket]) if end > first else 0
    if count > MAX_POINTS:
        raise BadWindow(f"{count} {bucket}s between from and to; at most {MAX_POINTS} fit in one series, "
                            f"so narrow the window or use bucket=week.")
    return [first + i * _STEP[bucket] for i in range(count)]


def summary(facts: Iterable[ClockFacts]) -> dict[str, Any]:
    """Leads, median and p90 first response, % met within SLA (of the clocks met or breached; running clocks
    are not decided yet) and touches per lead; the figures are None when there is nothing to compute them on."""
    items = list(facts)
    leads = len({f.lead_id for f in items})
    responses = [f.response_seconds for f in items if f.response_seconds is not None]
    met = sum(1 for f in items if f.state == "met")
    decided = met + sum(1 for f in items if f.state == "breached")
    median, p90 = percentile(responses, 0.5), percentile(responses, 0.9)
    return {
        "leads": leads,
        "median_seconds": None if median is None else round(median, 3),
        "p90_seconds": None if p90 is None else round(p90, 3),
        "within_sla_pct": round(100 * met / decided, 1) if decided else None,
        "touches_per_lead": round(sum(f.touches for f in items) / leads, 2) if leads else None,
    }


def summaries(facts: Iterable[ClockFacts]) -> dict[str, dict[str, Any]]:
    """``summary`` per group."""
    groups: dict[str, list[ClockFacts]] = defaultdict(list)
    for fact in facts:
        groups[fact.group].append(fact)
    return {group: summary(items) for group, items in groups.items()}


def series(facts: Iterable[ClockFacts], *, start: datetime, end: datetime, bucket: Bucket) -> list[dict[str, Any]]:
    """One series per group (sorted by name), each with a point for every bucket of the window, empty or not, so
    charts share one time axis. Facts need ``started_at``; those outside ``[start, end)`` are left out."""
    starts = bucket_starts(start, end, bucket)
    cells: dict[str, dict[datetime, list[ClockFacts]]] = defaultdict(lambda: defaultdict(list))
    for fact in facts:
        if fact.started_at is not None and start <= fact.started_at < end:
            cells[fact.group][bucket_start(fact.started_at, bucket)].append(fact)
    return [{"group": group, "points": [{"start": s.isoformat(), **summary(by_start.get(s, []))} for s in starts]}
            for group, by_start in sorted(cells.items())]


def series_rows(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The series flattened to one row per group and bucket, with ``SERIES_COLUMNS`` (for CSV)."""
    return [{"group": g["group"], **point} for g in groups for point in g["points"]]
