"""The Reps page's rows: availability in the rep's own time, load against capacity, speed to lead by period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sla_monitor.console.reps import _until, availability, rep_rows
from sla_monitor.domain.reports import ClockFacts

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def _rep(rep_id: str = "rep-a", **fields: Any) -> dict[str, Any]:
    return {"rep_id": rep_id, "name": None, "team": "na", "teams": ["na"], "active": True,
            "out_of_office_until": None, "capacity": 10, "open_leads": 3, "timezone": "America/New_York",
            "unavailable_reason": None, **fields}


def test_out_of_office_is_shown_in_the_reps_time_zone_until_it_ends() -> None:
    away = availability(_rep(out_of_office_until="2026-12-01T14:00:00+00:00"), now=NOW)
    assert away == {"state": "out_of_office", "until": "2026-12-01 09:00", "until_input": "2026-12-01T09:00",
                    "note": None}
    back = availability(_rep(out_of_office_until="2026-11-25T14:00:00+00:00"), now=NOW)
    assert (back["state"], back["until"]) == ("available", None)
    assert availability(_rep(active=False, out_of_office_until="2026-12-01T14:00:00+00:00"),
                        now=NOW)["state"] == "inactive"
    busy = availability(_rep(unavailable_reason="rep-a at capacity (10/10 open leads)"), now=NOW)
    assert (busy["state"], busy["note"]) == ("available", "rep-a at capacity (10/10 open leads)")


def test_rows_carry_today_and_seven_day_figures_per_rep() -> None:
    facts = [ClockFacts("rep-a", "l1", "met", 60.0, 1, NOW - timedelta(hours=1)),
             ClockFacts("rep-a", "l2", "breached", 900.0, 1, NOW - timedelta(days=2)),
             ClockFacts("rep-a", "l3", "met", 30.0, 1, NOW - timedelta(days=3)),
             ClockFacts("rep-b", "l4", "met", 10.0, 1, NOW - timedelta(days=1))]
    a, b, c = rep_rows([_rep(), _rep("rep-b", capacity=None), _rep("rep-c", capacity=0, open_leads=0)], facts,
                       now=NOW)
    assert (a["today"]["leads"], a["today"]["within_sla_pct"], a["today"]["median_seconds"]) == (1, 100.0, 60.0)
    assert (a["week"]["leads"], a["week"]["within_sla_pct"], a["week"]["median_seconds"]) == (3, 66.7, 60.0)
    assert (b["today"]["within_sla_pct"], b["week"]["within_sla_pct"]) == (None, 100.0)
    assert c["week"] == {"leads": 0, "median_seconds": None, "within_sla_pct": None}
    assert (a["load_pct"], b["load_pct"], c["load_pct"]) == (30, None, 100)


def test_an_out_of_office_end_is_read_in_the_reps_time_zone_and_must_be_in_the_future() -> None:
    assert _until("2026-12-01T09:00", "America/New_York", now=NOW) == datetime(2026, 12, 1, 14, tzinfo=UTC)
    with pytest.raises(ValueError, match="in the future"):
        _until("2026-11-25T09:00", "America/New_York", now=NOW)
    with pytest.raises(ValueError, match="give a date and time"):
        _until("next tuesday", "UTC", now=NOW)
