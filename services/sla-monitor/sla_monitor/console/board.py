"""The live board: running clocks ordered by time left, with warnings and recent breaches, filtered by team,
rep and urgency, and redrawn through Server-Sent Events whenever a clock changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from shared.http import ClockDep, SessionDep
from sla_monitor.board_store import BoardFilter, BoardRow, board_choices, board_rows
from sla_monitor.console.auth import SessionDep as ConsoleSession
from sla_monitor.console.pages import render, templates
from sla_monitor.event_stream import SSE_HEADERS
from sla_monitor.live import LiveFeed

router = APIRouter()
#: A burst of changes (a batch of clocks firing) redraws the board once, not once per clock.
REDRAW_INTERVAL = 0.2
KEEPALIVE_SECONDS = 15.0

TeamQuery = Annotated[str, Query(max_length=64)]
RepQuery = Annotated[str, Query(max_length=64)]
UrgencyQuery = Annotated[Literal["", "hot", "warm", "cold"], Query()]


def _filters(team: str, rep: str, urgency: str) -> BoardFilter:
    return BoardFilter(team=team or None, rep_id=rep or None, urgency=urgency or None)


def time_left(row: BoardRow, now: datetime) -> str:
    """What the countdown shows before its script takes over: ``m:ss`` left, or ``overdue m:ss``."""
    seconds = int(abs((row.due_at - now).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
    return text if row.due_at >= now else f"overdue {text}"


async def _board(request: Request, session: SessionDep, now: datetime, filters: BoardFilter) -> dict[str, Any]:
    breached_within = timedelta(hours=request.app.state.settings.console_board_breached_hours)
    rows = await board_rows(session, now=now, breached_within=breached_within, filters=filters)
    statuses = [(row, row.status(now)) for row in rows]
    counts = {status: sum(1 for _, s in statuses if s == status) for status in ("running", "warning", "breached")}
    query = urlencode({k: v for k, v in {"team": filters.team, "rep": filters.rep_id,
                                          "urgency": filters.urgency}.items() if v})
    return {"rows": [(row, status, time_left(row, now)) for row, status in statuses], "counts": counts,
            "query": query, "filters": filters, "filtered": bool(query), "now": now,
            "breached_hours": f"{request.app.state.settings.console_board_breached_hours:g}"}


@router.get("/", include_in_schema=False)
async def board_page(request: Request, console: ConsoleSession, session: SessionDep, clock: ClockDep,
                     team: TeamQuery = "", rep: RepQuery = "", urgency: UrgencyQuery = "") -> HTMLResponse:
    now = clock.now()
    context = await _board(request, session, now, _filters(team, rep, urgency))
    teams, reps = await board_choices(
        session, now=now, breached_within=timedelta(hours=request.app.state.settings.console_board_breached_hours))
    return render(request, "board.html", {**context, "teams": teams, "reps": reps, "server_now": now.isoformat()},
                  session=console, active="board")


@router.get("/board/rows", include_in_schema=False)
async def board_live_part(request: Request, _console: ConsoleSession, session: SessionDep, clock: ClockDep,
                          team: TeamQuery = "", rep: RepQuery = "", urgency: UrgencyQuery = "") -> HTMLResponse:
    """The board's live part (counts and table), which the page fetches again on every ``board`` event."""
    context = await _board(request, session, clock.now(), _filters(team, rep, urgency))
    return templates.TemplateResponse(request, "_board_live.html", context)


async def board_changes(feed: LiveFeed, *, keepalive: float = KEEPALIVE_SECONDS) -> AsyncIterator[str]:
    """``event: board`` whenever the board changed (at most every :data:`REDRAW_INTERVAL`), keepalives between."""
    with feed.watching_board():
        seen = feed.board_version
        yield "retry: 2000\n\n"
        while True:
            version = await feed.wait_board(seen, timeout=keepalive)
            if version == seen:
                yield ": keepalive\n\n"
                continue
            seen = version
            yield f"event: board\ndata: {version}\n\n"
            await asyncio.sleep(REDRAW_INTERVAL)


@router.get("/board/stream", include_in_schema=False)
async def board_stream(request: Request, _console: ConsoleSession) -> StreamingResponse:
    return StreamingResponse(board_changes(request.app.state.feed), media_type="text/event-stream",
                             headers=SSE_HEADERS)
