"""GET /v1/reports/speed-to-lead/series over real HTTP, from clocks the monitor kept off the real broker."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta

from shared.events import CloudEvent, LeadAssigned, LeadSummary
from tests.integration.sla_monitor.conftest import Monitor, activity, assigned, clocks_of, send
from tests.support import eventually

TODAY = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
SERIES = "/v1/reports/speed-to-lead/series"


async def _history(monitor: Monitor) -> None:
    """Two days ago: one lead answered in 60 s, one never (breached); yesterday: one answered in 120 s."""
    two_days_ago, yesterday = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
    await send(monitor.kafka, assigned("s1", urgency="warm", at=two_days_ago + timedelta(hours=10)))
    await send(monitor.kafka, activity("s1", "s1-call", at=two_days_ago + timedelta(hours=10, seconds=60)))
    await send(monitor.kafka, assigned("s2", urgency="warm", rep_id="rep-b", at=two_days_ago + timedelta(hours=11)))
    await send(monitor.kafka, assigned("s3", urgency="warm", at=yesterday + timedelta(hours=9)))
    await send(monitor.kafka, activity("s3", "s3-call", at=yesterday + timedelta(hours=9, seconds=120)))
    for lead_id, state in (("s1", "met"), ("s2", "breached"), ("s3", "met")):
        await eventually(clocks_of(monitor, lead_id, state=state), what=f"{lead_id} {state}")


async def test_the_series_has_a_point_per_day_with_the_figures_of_the_clocks_started_that_day(
        monitor: Monitor) -> None:
    await _history(monitor)
    answer = await monitor.http.get(SERIES, params={"from": (TODAY - timedelta(days=3)).isoformat(),
                                                    "to": TODAY.isoformat(), "group_by": "team"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["bucket"], body["group_by"]) == ("day", "team")
    [na] = body["series"]
    assert na["group"] == "na"
    empty, two_days_ago, yesterday = na["points"]
    assert empty == {"start": (TODAY - timedelta(days=3)).isoformat(), "leads": 0, "median_seconds": None,
                     "p90_seconds": None, "within_sla_pct": None, "touches_per_lead": None}
    assert two_days_ago == {"start": (TODAY - timedelta(days=2)).isoformat(), "leads": 2, "median_seconds": 60.0,
                            "p90_seconds": 60.0, "within_sla_pct": 50.0, "touches_per_lead": 0.5}
    assert (yesterday["leads"], yesterday["median_seconds"], yesterday["within_sla_pct"]) == (1, 120.0, 100.0)
    by_rep = (await monitor.http.get(SERIES, params={"group_by": "rep", "bucket": "week"})).json()
    assert [s["group"] for s in by_rep["series"]] == ["rep-a", "rep-b"]
    assert len(by_rep["series"][0]["points"]) == 12  # the default window: 12 weeks up to now
    assert sum(p["leads"] for p in by_rep["series"][0]["points"]) == 2


async def test_the_series_as_csv_is_a_download_with_lead_text_neutralised(monitor: Monitor) -> None:
    hostile = LeadSummary(first_name="Eve", company="Evil", source="web_form", campaign="=HYPERLINK(\"x\",\"y\")")
    data = LeadAssigned(lead_id="hostile", team="na", rep_id="rep-a", urgency="warm", rule_id="r1",
                        explanation=["test"], assigned_at=datetime.now(UTC), reason="initial", lead=hostile)
    await send(monitor.kafka, CloudEvent.wrap(data, source="test/router"))
    await eventually(clocks_of(monitor, "hostile"), what="the clock")
    answer = await monitor.http.get(SERIES, params={"group_by": "campaign", "format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="speed-to-lead-campaign-day.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == ["group", "start", "leads", "median_seconds", "p90_seconds", "within_sla_pct",
                             "touches_per_lead"]
    assert len(rows) == 30 and {r["group"] for r in rows} == {"'=HYPERLINK(\"x\",\"y\")"}
    assert rows[-1]["leads"] == "1" and rows[0]["leads"] == "0"


async def test_bad_windows_are_a_422_naming_the_parameter(monitor: Monitor) -> None:
    for params, field in (({"from": "2026-11-01T00:00:00"}, "query.from"),
                          ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "from"),
                          ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
                          ({"from": "0001-01-01T00:00:00+05:00"}, "from"), ({"to": "0001-01-01T00:00:00Z"}, "from"),
                          ({"bucket": "month"}, "query.bucket"), ({"group_by": "industry"}, "query.group_by")):
        answer = await monitor.http.get(SERIES, params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert field in {e["field"] for e in answer.json()["errors"]}, answer.text
    wide = await monitor.http.get(SERIES, params={"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z",
                                                  "bucket": "week"})
    assert wide.status_code == 200 and wide.json()["series"] == []


async def test_report_bounds_off_the_calendar_in_utc_are_a_422_naming_them(monitor: Monitor) -> None:
    for name in ("from", "to"):
        answer = await monitor.http.get("/v1/reports/speed-to-lead", params={name: "0001-01-01T00:00:00+05:00"})
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == [name]
