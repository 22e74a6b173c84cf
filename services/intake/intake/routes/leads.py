"""``/v1/leads``: single leads (JSON or HTML form), batches (JSON or CSV), and reading a lead back."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from intake import idempotency
from intake.bodies import BadBody, batch_rows, lead_payload
from intake.deps import ApiClient, Reader, SettingsDep
from intake.leads import AcceptedLead, accept_lead, accept_leads, get_lead
from intake.metrics import LEADS_ACCEPTED, LEADS_REJECTED
from intake.normalize import LeadSubmission
from intake.settings import IntakeSettings
from shared.events import LeadFields, limits
from shared.events.leads import source_label
from shared.http import ClockDep, SessionDep, field_errors, unprocessable

router = APIRouter(prefix="/v1/leads", tags=["leads"])

_LEAD_SCHEMA = {"$ref": "#/components/schemas/LeadSubmission"}
_LEAD_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": _LEAD_SCHEMA},
    "application/x-www-form-urlencoded": {"schema": _LEAD_SCHEMA},
}}}
_BATCH_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["leads"], "properties": {
        "leads": {"type": "array", "items": _LEAD_SCHEMA}}}},
    "text/csv": {"schema": {"type": "string",
                            "description": "A header row of lead field names, then one lead per row."}},
}}}


class LeadAnswer(BaseModel):
    lead_id: str
    status: str
    duplicate_of: str | None


class BatchAnswer(BaseModel):
    accepted: list[dict[str, Any]]
    rejected: list[dict[str, Any]]


def _bad_body(exc: BadBody) -> JSONResponse:
    return JSONResponse(status_code=exc.status_code,
                        content={"detail": str(exc), "errors": [{"field": exc.field, "message": str(exc)}]})


@router.post("", status_code=202, response_model=LeadAnswer, openapi_extra=_LEAD_BODY,
             responses={401: {}, 409: {}, 413: {}, 415: {}, 422: {}})
async def post_lead(request: Request, client: ApiClient, session: SessionDep, settings: SettingsDep,
                    clock: ClockDep,
                    idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> JSONResponse:
    """Accept one lead from a website form (JSON or a plain HTML form post) or a badge scanner."""
    body = await request.body()
    try:
        submission = LeadSubmission.model_validate(lead_payload(request.headers.get("content-type"), body),
                                                   context=_validation_context(settings, clock.now()))
    except BadBody as exc:
        return _bad_body(exc)
    except ValidationError as exc:
        LEADS_REJECTED.inc()
        return unprocessable(field_errors(exc))
    if not idempotency_key:  # the common case: committed together with the leads posted at the same time
        accepted = await request.app.state.committer.accept(submission.to_fields(), submitted_by=client)
        LEADS_ACCEPTED.labels(source=source_label(submission.source)).inc()
        return JSONResponse(accepted.answer(), status_code=202)
    fingerprint = idempotency.request_fingerprint(request.headers.get("content-type", ""), body)
    now = clock.now()
    try:
        async with session.begin():
            if idempotency_key:
                stored = await idempotency.stored_answer(session, client=client, key=idempotency_key,
                                                         fingerprint=fingerprint)
                if stored is not None:
                    return JSONResponse(stored.body, status_code=stored.status_code)
            accepted = await accept_lead(session, submission.to_fields(), submitted_by=client, now=now,
                                         duplicate_lookback=timedelta(days=settings.duplicate_lookback_days))
            if idempotency_key:
                await idempotency.remember_answer(
                    session, client=client, key=idempotency_key, fingerprint=fingerprint, now=now,
                    answer=idempotency.StoredAnswer(202, accepted.answer()))
    except idempotency.IdempotencyConflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key won the race; answer what it stored.
        async with request.app.state.session_factory() as retry:
            stored = await idempotency.stored_answer(retry, client=client, key=idempotency_key,
                                                     fingerprint=fingerprint)
        if stored is None:
            raise
        return JSONResponse(stored.body, status_code=stored.status_code)
    request.app.state.relay.notify()
    LEADS_ACCEPTED.labels(source=source_label(submission.source)).inc()
    return JSONResponse(accepted.answer(), status_code=202)


@router.post("/batch", response_model=BatchAnswer, openapi_extra=_BATCH_BODY,
             responses={401: {}, 409: {}, 413: {}, 415: {}, 422: {}})
async def post_batch(request: Request, client: ApiClient, session: SessionDep, settings: SettingsDep,
                     clock: ClockDep,
                     idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> Any:
    """Accept a badge-scanner or list upload; each row is accepted or rejected whole, and the batch is stored
    whole or not at all. With an ``Idempotency-Key`` the same upload sent again (a resumed import whose answer
    was lost) gets the first answer and stores nothing twice; another body under that key is a 409."""
    body = await request.body()
    now = clock.now()
    try:
        # Reading and validating thousands of rows is CPU work: done in a worker thread, the event loop keeps
        # serving other requests meanwhile.
        valid, rejected = await asyncio.to_thread(
            _read_batch, request.headers.get("content-type"), body, max_rows=settings.intake_max_batch_rows,
            context=_validation_context(settings, now))
    except BadBody as exc:
        return _bad_body(exc)
    if idempotency_key:
        return await _post_batch_once(request, session, client=client, key=idempotency_key, body=body,
                                      valid=valid, rejected=rejected, now=now, settings=settings)
    async with session.begin():
        results = await accept_leads(session, [fields for _, fields in valid], submitted_by=client, now=now,
                                     duplicate_lookback=timedelta(days=settings.duplicate_lookback_days))
    if results:
        request.app.state.relay.notify()
    for source, count in Counter(source_label(fields.source) for _, fields in valid).items():
        LEADS_ACCEPTED.labels(source=source).inc(count)
    LEADS_REJECTED.inc(len(rejected))
    # Encoded in a worker thread too, not returned for FastAPI to re-validate and re-encode on the loop.
    answer = await asyncio.to_thread(_batch_answer, [number for number, _ in valid], results, rejected)
    return Response(answer, media_type="application/json")


async def _post_batch_once(request: Request, session: AsyncSession, *, client: str, key: str, body: bytes,
                           valid: list[tuple[int, LeadFields]], rejected: list[dict[str, Any]], now: datetime,
                           settings: IntakeSettings) -> JSONResponse:
    """The batch under an idempotency key: its leads and the answer are stored in one transaction."""
    fingerprint = idempotency.request_fingerprint(request.headers.get("content-type", ""), body)
    try:
        async with session.begin():
            stored = await idempotency.stored_answer(session, client=client, key=key, fingerprint=fingerprint)
            if stored is not None:
                return JSONResponse(stored.body, status_code=stored.status_code)
            results = await accept_leads(session, [fields for _, fields in valid], submitted_by=client, now=now,
                                         duplicate_lookback=timedelta(days=settings.duplicate_lookback_days))
            answer = _batch_answer_of([number for number, _ in valid], results, rejected)
            await idempotency.remember_answer(session, client=client, key=key, fingerprint=fingerprint, now=now,
                                              answer=idempotency.StoredAnswer(200, answer))
    except idempotency.IdempotencyConflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except IntegrityError:  # a concurrent request with the same key won the race: answer what it stored
        async with request.app.state.session_factory() as retry:
            stored = await idempotency.stored_answer(retry, client=client, key=key, fingerprint=fingerprint)
        if stored is None:
            raise
        return JSONResponse(stored.body, status_code=stored.status_code)
    if results:
        request.app.state.relay.notify()
    for source, count in Counter(source_label(fields.source) for _, fields in valid).items():
        LEADS_ACCEPTED.labels(source=source).inc(count)
    LEADS_REJECTED.inc(len(rejected))
    return JSONResponse(answer)


def _batch_answer_of(rows: list[int], results: list[AcceptedLead], rejected: list[dict[str, Any]],
                     ) -> dict[str, Any]:
    accepted = [{"row": number, "lead_id": result.lead_id, "duplicate_of": result.duplicate_of}
                for number, result in zip(rows, results, strict=True)]
    return {"accepted": accepted, "rejected": rejected}


def _batch_answer(rows: list[int], results: list[AcceptedLead], rejected: list[dict[str, Any]]) -> bytes:
    return json.dumps(_batch_answer_of(rows, results, rejected)).encode()


def _validation_context(settings: IntakeSettings, now: datetime) -> dict[str, Any]:
    return {"now": now, "skew": timedelta(seconds=settings.captured_at_skew_seconds)}


def _read_batch(content_type: str | None, body: bytes, *, max_rows: int, context: dict[str, Any],
                ) -> tuple[list[tuple[int, LeadFields]], list[dict[str, Any]]]:
    """``(valid rows as (row number, fields), rejected rows with their errors)``; raises ``BadBody``."""
    valid: list[tuple[int, LeadFields]] = []
    rejected: list[dict[str, Any]] = []
    for number, row in enumerate(batch_rows(content_type, body, max_rows=max_rows), start=1):
        if not isinstance(row, dict):
            rejected.append({"row": number, "errors": [{"field": "row", "message": "A row must be an object."}]})
            continue
        try:
            valid.append((number, LeadSubmission.model_validate(row, context=context).to_fields()))
        except ValidationError as exc:
            rejected.append({"row": number, "errors": field_errors(exc)})
    return valid, rejected


@router.get("/{lead_id}", responses={401: {}, 404: {}, 422: {}})
async def read_lead(lead_id: Annotated[str, Path(max_length=limits.MAX_LEAD_ID, pattern=r"^[^\x00-\x1f\x7f]+$")],
                    _reader: Reader, session: SessionDep) -> dict[str, Any]:
    """The lead as accepted (normalized), with ``received_at``."""
    lead = await get_lead(session, lead_id)
    if lead is None:
        raise HTTPException(404, detail=f"No lead with id {lead_id!r} was received.")
    return lead
