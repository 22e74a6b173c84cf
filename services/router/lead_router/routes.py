"""The router's admin API: the routing document, simulation, assignments and rep availability."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from lead_router import tables
from lead_router.domain.config import MAX_CAPACITY, InvalidDocument, parse_document
from lead_router.domain.roster import document_reps, roster
from lead_router.queue import drain_queues
from lead_router.routing import plan
from lead_router.state_store import rep_states, save_rep_state
from shared.document_parsing import UnreadableDocument, read_document
from shared.events import LeadFields
from shared.http import ClockDep, IdPath, SessionDep

router = APIRouter(prefix="/v1", tags=["routing"])

#: Version numbers are PostgreSQL integers; a larger number in the path is a 422, not a database error.
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _invalid(errors: list[dict[str, str]], *, outcome: str = "nothing was changed") -> JSONResponse:
    return JSONResponse(status_code=422, content={
        "detail": f"The routing document has {len(errors)} problem(s); {outcome}.",
        "errors": [{"field": e["path"], "message": e["message"]} for e in errors]})


async def _document_from(request: Request) -> Any:
    try:
        # In a thread: a large YAML document takes seconds to read, and the event loop serves everyone else.
        return await asyncio.to_thread(read_document, await request.body(), request.headers.get("content-type"))
    except UnreadableDocument as exc:
        raise InvalidDocument(exc.errors) from None


@router.get("/routing/config")
async def get_config(request: Request, session: SessionDep) -> dict[str, Any]:
    """The active routing document and its version."""
    active = await request.app.state.documents.active(session)
    return {"version": active.number, "document": active.document}


@router.put("/routing/config", responses={422: {"description": "Every problem, with its path."}},
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}}}}})
async def put_config(request: Request, session: SessionDep, clock: ClockDep) -> Any:
    """Validate a whole routing document and make it the active version (PUT an old version to roll back)."""
    try:
        document = await _document_from(request)
        async with session.begin():
            active = await request.app.state.documents.save(session, document, origin="api", now=clock.now())
    except InvalidDocument as exc:
        return _invalid(exc.errors)
    await drain_queues(request.app.state.session_factory, request.app.state.documents, clock.now())
    return {"version": active.number, "document": active.document}


@router.get("/routing/config/versions")
async def get_versions(request: Request, session: SessionDep) -> dict[str, Any]:
    """Every stored version, newest first."""
    return {"versions": await request.app.state.documents.listing(session)}


@router.get("/routing/config/versions/{version}", responses={404: {}})
async def get_version(version: VersionPath, request: Request, session: SessionDep) -> dict[str, Any]:
    stored = await request.app.state.documents.load(session, version)
    if stored is None:
        raise HTTPException(404, detail=f"There is no routing document version {version}.")
    return {"version": stored.number, "document": stored.document}


@router.post("/routing/validate", responses={422: {"description": "Every problem, with its path."}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object"}},
                 "application/yaml": {"schema": {"type": "string"}}}}})
async def validate_config(request: Request) -> Any:
    """Check a draft routing document exactly as PUT would, without storing anything."""
    try:
        await asyncio.to_thread(parse_document, await _document_from(request))
    except InvalidDocument as exc:
        return _invalid(exc.errors, outcome="it was only checked")
    return {"valid": True}


@router.post("/routing/config/versions/{version}/restore", responses={404: {}, 422: {}})
async def restore_version(version: VersionPath, request: Request, session: SessionDep, clock: ClockDep) -> Any:
    """Roll back: store version ``version``'s document again as the newest (active) version."""
    documents = request.app.state.documents
    try:
        async with session.begin():
            stored = await documents.load(session, version)
            if stored is None:
                raise HTTPException(404, detail=f"There is no routing document version {version}.")
            active = await documents.save(session, stored.document, origin=f"restore:{version}", now=clock.now())
    except InvalidDocument as exc:
        return _invalid(exc.errors, outcome=f"version {version} no longer validates and was not restored")
    await drain_queues(request.app.state.session_factory, documents, clock.now())
    return {"version": active.number, "document": active.document}


class SimulatedLead(LeadFields):
    """A lead to route on paper; ``lead_id`` and ``email`` let ownership be simulated too."""

    model_config = ConfigDict(extra="forbid")

    source: str = "web_form"
    lead_id: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        # Text goes into database queries (ownership): PostgreSQL refuses NUL bytes with an error, so say so here.
        if isinstance(value, str) and ("\x00" in value or len(value) > 1000):
            raise ValueError("must be text without NUL bytes, at most 1000 characters")
        return value


@router.post("/routing/simulate")
async def simulate(lead: SimulatedLead, request: Request, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """What routing this lead now would decide, with the explanation; nothing is stored or published."""
    active = await request.app.state.documents.active(session)
    decision = await plan(session, active, lead.model_dump(mode="json"), lead_id=lead.lead_id or "", now=clock.now(),
                          lock=False)
    await session.rollback()
    return {"team": decision.team, "rep_id": decision.rep_id, "urgency": decision.urgency,
            "rule_id": decision.rule_id, "state": "queued" if decision.queued else "assigned",
            "explanation": decision.explanation, "config_version": active.number}


def _assignment_view(row: Any) -> dict[str, Any]:
    return {
        "state": row.state, "team": row.team, "rep_id": row.rep_id, "urgency": row.urgency, "rule_id": row.rule_id,
        "reason": row.reason, "explanation": row.explanation, "config_version": row.config_version,
        "queued_at": row.queued_at.isoformat() if row.queued_at else None,
        "assigned_at": row.assigned_at.isoformat() if row.assigned_at else None,
        "touched_at": row.touched_at.isoformat() if row.touched_at else None,
    }


@router.get("/assignments/{lead_id}", responses={404: {}})
async def get_assignment(lead_id: IdPath, session: SessionDep) -> dict[str, Any]:
    """The lead's current assignment (or its place in a queue) and the whole history, oldest first."""
    a = tables.assignments
    rows = (await session.execute(select(a).where(a.c.lead_id == lead_id).order_by(a.c.id))).all()
    if not rows:
        raise HTTPException(404, detail=f"The router has not seen lead {lead_id!r} (yet).")
    current = next((r for r in rows if r.current), rows[-1])
    return {"lead_id": lead_id, "state": current.state, "current": _assignment_view(current),
            "history": [_assignment_view(r) for r in rows]}


@router.get("/reps")
async def list_reps(request: Request, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """The reps of the active routing document, in document order: team, availability, open (untouched) leads
    against capacity, and why routing would skip the rep right now (``unavailable_reason``, null when it
    would not)."""
    active = await request.app.state.documents.active(session)
    states = await rep_states(session, list(document_reps(active.parsed)))
    return {"config_version": active.number, "reps": roster(active.parsed, states, now=clock.now())}


class RepPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    out_of_office_until: datetime | None = None
    capacity: Annotated[int | None, Field(ge=0, le=MAX_CAPACITY)] = None


@router.patch("/reps/{rep_id}", responses={404: {}})
async def patch_rep(rep_id: IdPath, patch: RepPatch, request: Request, session: SessionDep,
                    clock: ClockDep) -> dict[str, Any]:
    """Change a rep's availability: ``active``, ``out_of_office_until`` (null clears it), ``capacity``."""
    if patch.out_of_office_until is not None and patch.out_of_office_until.tzinfo is None:
        raise HTTPException(422, detail="out_of_office_until needs a UTC offset, e.g. 2026-12-01T09:00:00+01:00.")
    async with session.begin():
        active = await request.app.state.documents.active(session)
        if not any(rep.id == rep_id for team in active.parsed.teams for rep in team.reps):
            raise HTTPException(404, detail=f"No rep {rep_id!r} in routing document version {active.number}.")
        await save_rep_state(session, rep_id, patch.model_dump(exclude_unset=True), now=clock.now())
        row = (await session.execute(select(tables.rep_states).where(tables.rep_states.c.rep_id == rep_id))).one()
    await drain_queues(request.app.state.session_factory, request.app.state.documents, clock.now())
    return {"rep_id": rep_id, "active": row.active, "capacity": row.capacity,
            "out_of_office_until": row.out_of_office_until.isoformat() if row.out_of_office_until else None}
