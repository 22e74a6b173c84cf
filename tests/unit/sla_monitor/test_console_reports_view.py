"""The Reports page: its date form read as a UTC window, and the series turned into one table per chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sla_monitor.console.reports import MAX_CHARTED_GROUPS, FormError, charts, read_window
from sla_monitor.domain.reports import ClockFacts
from sla_monitor.domain.series import series

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_form_dates_are_whole_utc_days_with_the_last_one_included() -> None:
    assert read_window("2026-11-01", "2026-11-03", "day", now=NOW) == (
        datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))
    assert read_window(None, None, "day", now=NOW)[1] == NOW
    with pytest.raises(FormError, match="YYYY-MM-DD") as bad:
        read_window("01/11/2026", None, "day", now=NOW)
    assert bad.value.field == "from"
    with pytest.raises(FormError, match="earlier than to"):
        read_window("2026-11-05", "2026-11-01", "day", now=NOW)
    with pytest.raises(FormError, match="before 9999-12-31"):
        read_window("9999-12-01", "9999-12-31", "day", now=NOW)
    with pytest.raises(FormError, match="between the years 1 and 9999"):
        read_window(None, "0001-01-01", "day", now=NOW)


def test_each_metric_gets_a_table_with_a_row_per_bucket_and_a_column_per_group() -> None:
    day = datetime(2026, 11, 23, tzinfo=UTC)
    facts = [ClockFacts("na", "l1", "met", 60.0, 2, day + timedelta(hours=1)),
             ClockFacts("emea", "l2", "breached", 7200.0, 1, day + timedelta(days=1))]
    chart = charts(series(facts, start=day, end=day + timedelta(days=2), bucket="day"))
    assert chart["groups"] == ["emea", "na"] and chart["hidden"] == 0 and chart["leads"] == [1, 1]
    [median, p90, within, touches] = chart["tables"]
    assert (median["key"], median["unit"], within["unit"], touches["unit"]) == (
        "median_seconds", "seconds", "percent", "number")
    assert [r["start"] for r in median["rows"]] == [day, day + timedelta(days=1)]
    assert [r["values"] for r in median["rows"]] == [[None, 60.0], [7200.0, None]]
    assert [r["values"] for r in within["rows"]] == [[None, 100.0], [0.0, None]]


def test_only_the_groups_with_most_leads_are_charted() -> None:
    day = datetime(2026, 11, 23, tzinfo=UTC)
    facts = [ClockFacts(f"c{g:02d}", f"l{g}-{i}", "met", 1.0, 1, day) for g in range(12) for i in range(g + 1)]
    chart = charts(series(facts, start=day, end=day + timedelta(days=1), bucket="day"))
    assert chart["hidden"] == 12 - MAX_CHARTED_GROUPS
    assert chart["groups"] == [f"c{g:02d}" for g in range(12 - MAX_CHARTED_GROUPS, 12)]
    empty = charts([])
    assert empty["groups"] == [] and empty["hidden"] == 0 and all(t["rows"] == [] for t in empty["tables"])
