"""The live board: running clocks ordered by time left."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sla_monitor.console.auth import SessionDep
from sla_monitor.console.pages import render

router = APIRouter()


@router.get("/", include_in_schema=False)
async def board_page(request: Request, session: SessionDep) -> HTMLResponse:
    return render(request, "board.html", {}, session=session, active="board")
