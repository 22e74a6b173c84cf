"""The Reports page: speed to lead over time as charts (median and p90 first response, % within SLA, touches
per lead) by team, rep, source or campaign, each with its data table, and the same series as CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shared.http import ClockDep
from shared.http import SessionDep as DatabaseDep
from sla_monitor.console.auth import SessionDep
from sla_monitor.console.pages import render
from sla_monitor.domain.series import SERIES_COLUMNS, BadWindow, Bucket, default_from, series, series_rows, window
from sla_monitor.escaping import csv_document
from sla_monitor.report_store import GroupBy, clock_facts

router = APIRouter()
GROUP_BYS: dict[str, str] = {"team": "Team", "rep": "Rep", "source": "Source", "campaign": "Campaign"}
BUCKETS: dict[str, str] = {"day": "Day", "week": "Week"}
#: The charts, each one figure of the series: (key, title, unit for the axis and the table).
METRICS = (("median_seconds", "Median first response", "seconds"),
           ("p90_seconds", "90th percentile first response", "seconds"),
           ("within_sla_pct", "Within SLA (% of clocks met or breached)", "percent"),
           ("touches_per_lead", "Touches per lead", "number"))
#: More lines than this make a chart unreadable: the groups with the most leads are charted, the CSV has all.
MAX_CHARTED_GROUPS = 8


class FormError(ValueError):
    """A form field that cannot be read; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _day(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormError(field, f"{field.capitalize()}: give a date as YYYY-MM-DD, e.g. 2026-11-01.") from None


def read_window(from_text: str | None, to_text: str | None, bucket: Bucket, *,
                now: datetime) -> tuple[datetime, datetime]:
    """The window of the form's UTC dates, both included (``to`` defaults to now, ``from`` as the API's)."""
    first, last = _day(from_text, "from"), _day(to_text, "to")
    start = datetime.combine(first, time(), tzinfo=UTC) if first else None
    if last is not None and last >= date.max:
        raise FormError("to", "To: give a date before 9999-12-31.")
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC) if last else None
    try:
        return window(start, end, bucket, now=now)
    except BadWindow as exc:
        raise FormError("from", str(exc)) from None


def charts(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The charted groups (most leads first, at most ``MAX_CHARTED_GROUPS``), the bucket starts, and per metric
    a table: one row per bucket with one value per charted group."""
    ranked = sorted(groups, key=lambda g: (-sum(p["leads"] for p in g["points"]), g["group"]))
    shown = sorted(ranked[:MAX_CHARTED_GROUPS], key=lambda g: g["group"])
    starts = [p["start"] for p in groups[0]["points"]] if groups else []
    tables = [{"key": key, "title": title, "unit": unit,
               "rows": [{"start": datetime.fromisoformat(start),
                         "values": [g["points"][i][key] for g in shown]} for i, start in enumerate(starts)]}
              for key, title, unit in METRICS]
    return {"groups": [g["group"] for g in shown], "hidden": len(groups) - len(shown), "tables": tables,
            "leads": [sum(p["leads"] for p in g["points"]) for g in shown]}


@router.get("/reports", include_in_schema=False)
async def reports_page(request: Request, session: SessionDep, database: DatabaseDep, clock: ClockDep,
                       group_by: Annotated[GroupBy, Query()] = "team", bucket: Annotated[Bucket, Query()] = "day",
                       from_: Annotated[str | None, Query(alias="from", max_length=32)] = None,
                       to: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    now = clock.now()
    form = {"group_by": group_by, "bucket": bucket, "from": from_ or default_from(now, bucket).date().isoformat(),
            "to": to or now.date().isoformat()}
    context: dict[str, Any] = {"form": form, "group_bys": GROUP_BYS, "buckets": BUCKETS, "error": None,
                               "error_field": None, "chart": None,
                               "csv_url": "/ops/reports/speed-to-lead.csv?" + urlencode(form)}
    try:
        start, end = read_window(from_, to, bucket, now=now)
    except FormError as exc:
        context.update(error=str(exc), error_field=exc.field)
        return render(request, "reports.html", context, session=session, active="reports", status_code=422)
    groups = series(await clock_facts(database, group_by=group_by, from_=start, to=end),
                    start=start, end=end, bucket=bucket)
    context.update(chart=charts(groups), start=start, end=end)
    return render(request, "reports.html", context, session=session, active="reports")


@router.get("/reports/speed-to-lead.csv", include_in_schema=False)
async def reports_csv(session: SessionDep, database: DatabaseDep, clock: ClockDep,
                      group_by: Annotated[GroupBy, Query()] = "team", bucket: Annotated[Bucket, Query()] = "day",
                      from_: Annotated[str | None, Query(alias="from", max_length=32)] = None,
                      to: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    """The page's series, every group, as the API's CSV (``GET /v1/reports/speed-to-lead/series?format=csv``)."""
    try:
        start, end = read_window(from_, to, bucket, now=clock.now())
    except FormError as exc:
        return Response(str(exc), status_code=422, media_type="text/plain")
    groups = series(await clock_facts(database, group_by=group_by, from_=start, to=end),
                    start=start, end=end, bucket=bucket)
    filename = f"speed-to-lead-{group_by}-{bucket}-{start.date().isoformat()}-{(end - timedelta(seconds=1)).date()}.csv"
    return Response(csv_document(SERIES_COLUMNS, series_rows(groups)), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
