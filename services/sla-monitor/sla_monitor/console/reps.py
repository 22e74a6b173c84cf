"""The Reps page: each rep's open leads against capacity, availability (with controls to change it, which the
router applies through ``PATCH /v1/reps``) and speed to lead today and over 7 days (from this service's own
clocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from shared.http import ClockDep
from shared.http import SessionDep as DatabaseDep
from sla_monitor.console.auth import CsrfDep, SessionDep
from sla_monitor.console.pages import render
from sla_monitor.console.upstream import Upstream, UpstreamDep, UpstreamFailed
from sla_monitor.domain.reports import ClockFacts
from sla_monitor.domain.series import bucket_start, summaries
from sla_monitor.report_store import clock_facts

router = APIRouter()
Action = Literal["out_of_office", "inactive", "available"]


def availability(rep: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """What the page says about a rep's availability: ``state`` (available, out_of_office, inactive), the
    out-of-office end in the rep's own time, and why routing skips an otherwise available rep right now."""
    until = datetime.fromisoformat(rep["out_of_office_until"]) if rep.get("out_of_office_until") else None
    local_until = until.astimezone(ZoneInfo(rep["timezone"])) if until else None
    if not rep["active"]:
        state = "inactive"
    elif until is not None and until > now:
        state = "out_of_office"
    else:
        state, local_until = "available", None
    return {"state": state, "until": local_until.strftime("%Y-%m-%d %H:%M") if local_until else None,
            "until_input": local_until.strftime("%Y-%m-%dT%H:%M") if local_until else "",
            "note": rep.get("unavailable_reason") if state == "available" else None}


def rep_rows(reps: list[dict[str, Any]], facts: list[ClockFacts], *, now: datetime) -> list[dict[str, Any]]:
    """The page's rows: the router's reps with their availability and speed to lead (``facts`` grouped by rep,
    clocks started in the last 7 days) today (UTC) and over the 7 days."""
    today = bucket_start(now, "day")
    week = summaries(facts)
    today_figures = summaries(f for f in facts if f.started_at is not None and f.started_at >= today)
    empty = {"leads": 0, "median_seconds": None, "within_sla_pct": None}
    return [{**rep, "availability": availability(rep, now=now),
             "load_pct": _load(rep["open_leads"], rep["capacity"]),
             "today": today_figures.get(rep["rep_id"], empty), "week": week.get(rep["rep_id"], empty)}
            for rep in reps]


def _load(open_leads: int, capacity: int | None) -> int | None:
    if capacity is None:
        return None
    return 100 if capacity == 0 else min(100, round(100 * open_leads / capacity))


async def _page(request: Request, session: Any, database: Any, upstream: Upstream, now: datetime, *,
                error: str | None = None, changed: str | None = None, status_code: int = 200) -> Response:
    try:
        reps = (await upstream.get("router", "/v1/reps"))["reps"]
    except UpstreamFailed as exc:
        return render(request, "reps.html", {"rows": [], "error": error or str(exc), "notice": None},
                      session=session, active="reps", status_code=502 if status_code == 200 else status_code)
    facts = await clock_facts(database, group_by="rep", from_=now - timedelta(days=7), to=now,
                              groups=[r["rep_id"] for r in reps])
    rows = rep_rows(reps, facts, now=now)
    notice = next((f"Saved: {r['rep_id']} is now {_STATES[r['availability']['state']]}." for r in rows
                   if r["rep_id"] == changed), None)
    return render(request, "reps.html", {"rows": rows, "error": error, "notice": notice},
                  session=session, active="reps", status_code=status_code)


_STATES = {"available": "available", "inactive": "inactive", "out_of_office": "out of office"}


@router.get("/reps", include_in_schema=False)
async def reps_page(request: Request, session: SessionDep, database: DatabaseDep, upstream: UpstreamDep,
                    clock: ClockDep, changed: str | None = None) -> Response:
    return await _page(request, session, database, upstream, clock.now(), changed=changed)


def _until(text: str, timezone: str, *, now: datetime) -> datetime:
    """The end of an out-of-office period typed as the rep's local date and time; ValueError saying why not."""
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("Out of office until: give a date and time, e.g. 2026-12-01T09:00.") from None
    until = local.replace(tzinfo=ZoneInfo(timezone)) if local.tzinfo is None else local
    if until <= now:
        raise ValueError("Out of office until: give a moment in the future.")
    return until.astimezone(UTC)


@router.post("/reps/availability", include_in_schema=False)
async def set_availability(request: Request, session: CsrfDep, database: DatabaseDep, upstream: UpstreamDep,
                           clock: ClockDep, rep_id: Annotated[str, Form(min_length=1, max_length=255)],
                           action: Annotated[Action, Form()],
                           until: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Set a rep out of office until a moment (in the rep's time zone), inactive, or available again."""
    now = clock.now()
    try:
        reps = {r["rep_id"]: r for r in (await upstream.get("router", "/v1/reps"))["reps"]}
        rep = reps.get(rep_id)
        if rep is None:
            return await _page(request, session, database, upstream, now, status_code=404,
                               error="That rep is not in the routing document (any more); nothing was changed.")
        if action == "out_of_office":
            try:
                change: dict[str, Any] = {"active": True,
                                          "out_of_office_until": _until(until, rep["timezone"], now=now).isoformat()}
            except ValueError as exc:
                return await _page(request, session, database, upstream, now, error=str(exc), status_code=422)
        elif action == "inactive":
            change = {"active": False}
        else:
            change = {"active": True, "out_of_office_until": None}
        await upstream.json("router", "PATCH", f"/v1/reps/{quote(rep_id, safe='')}", json=change)
    except UpstreamFailed as exc:
        return await _page(request, session, database, upstream, now, status_code=502,
                           error=f"Nothing was changed. {exc}")
    return RedirectResponse(f"/ops/reps?changed={quote(rep_id, safe='')}", status_code=303)
