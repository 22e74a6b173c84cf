"""``POST /v1/routing/backtest``: how a draft routing document would have spread the last days' leads."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from lead_router.backtesting import run_backtest
from lead_router.domain.config import InvalidDocument, RoutingConfig, parse_document
from shared.document_parsing import UnreadableDocument, read_document
from shared.http import ClockDep, SessionDep
from shared.versioned import as_json

router = APIRouter(prefix="/v1", tags=["routing"])

MAX_DAYS = 90


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: Annotated[str | dict[str, Any], Field(
        description="The draft routing document: YAML text, or the document as a JSON object.")]
    days: Annotated[int, Field(ge=1, le=MAX_DAYS, description="How many days back to replay.")] = 30


def _draft(document: str | dict[str, Any]) -> RoutingConfig:
    """The draft, validated as PUT would; ``InvalidDocument`` with paths under ``document``."""
    try:
        raw = read_document(document.encode(), "application/yaml") if isinstance(document, str) else document
        return parse_document(as_json(raw))
    except UnreadableDocument as exc:
        raise InvalidDocument([{"path": "document", "message": exc.message}]) from None
    except InvalidDocument as exc:
        raise InvalidDocument([{"path": f"document.{e['path']}" if e["path"] else "document",
                                "message": e["message"]} for e in exc.errors]) from None


@router.post("/routing/backtest", responses={422: {"description": "The draft's problems, with their paths."}})
async def backtest(body: BacktestRequest, request: Request, session: SessionDep, clock: ClockDep) -> Any:
    """Replay the leads of the last ``days`` days through a draft document, in the order they arrived, with the
    real decision code; answer the spread over teams, reps and urgencies, draft against what actually happened.
    Nothing is stored or published."""
    started = time.perf_counter()
    try:
        draft = await asyncio.to_thread(_draft, body.document)
    except InvalidDocument as exc:
        return JSONResponse(status_code=422, content={
            "detail": f"The draft routing document has {len(exc.errors)} problem(s); nothing was replayed.",
            "errors": [{"field": e["path"], "message": e["message"]} for e in exc.errors]})
    until = clock.now()
    since = until - timedelta(days=body.days)
    active = await request.app.state.documents.active(session)
    outcome = await run_backtest(session, draft, since=since, until=until)
    await session.rollback()
    return {"from": since.isoformat(), "to": until.isoformat(), "days": body.days, "leads": outcome.leads,
            "changed": outcome.changed, "duration_ms": round((time.perf_counter() - started) * 1000),
            "current_version": active.number, "teams": outcome.teams(), "reps": outcome.reps(),
            "by_rep_urgency": outcome.by_rep_urgency()}
