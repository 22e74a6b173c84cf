"""``/v1/sources/...``: form and ad platforms posting leads in their own formats. Each route checks the provider's
signature on the raw body, parses (``intake.sources.<provider>``) and accepts (``intake.sources.accept``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from intake.bodies import BadBody, parse_json
from intake.deps import SettingsDep, configured
from intake.metrics import LEADS_ACCEPTED, LEADS_REJECTED
from intake.signatures import SignatureRejected
from intake.sources import google_ads, tally, typeform, zuddl
from intake.sources.accept import SourceLeadInvalid, SourceSubmission, accept_source_lead, known_lead_id, source_lead
from intake.sources.mapping import SourceMapping
from shared.events.leads import source_label
from shared.http import ClockDep, SessionDep, unprocessable

router = APIRouter(prefix="/v1/sources", tags=["lead sources"])

_JSON_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {401: {}, 404: {}, 413: {}, 422: {}}


class SourceAnswer(BaseModel):
    lead_id: str | None
    status: str


@router.post("/typeform", response_model=SourceAnswer, openapi_extra=_JSON_BODY, responses=_RESPONSES)
async def post_typeform(request: Request, session: SessionDep, settings: SettingsDep,
                        clock: ClockDep) -> JSONResponse:
    """A Typeform webhook (``Typeform-Signature``)."""
    secret = configured(settings.typeform_secret, "TYPEFORM_SECRET")
    body = await request.body()
    try:
        typeform.verify(request.headers.get(typeform.HEADER), body, secret)
        submission = typeform.parse(parse_json(body))
    except (SignatureRejected, BadBody, SourceLeadInvalid) as exc:
        return _refused(exc)
    return await _accept(request, session, settings, clock, submission)


@router.post("/tally", response_model=SourceAnswer, openapi_extra=_JSON_BODY, responses=_RESPONSES)
async def post_tally(request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep) -> JSONResponse:
    """A Tally webhook (``Tally-Signature``)."""
    secret = configured(settings.tally_signing_secret, "TALLY_SIGNING_SECRET")
    body = await request.body()
    try:
        tally.verify(request.headers.get(tally.HEADER), body, secret)
        submission = tally.parse(parse_json(body))
    except (SignatureRejected, BadBody, SourceLeadInvalid) as exc:
        return _refused(exc)
    return await _accept(request, session, settings, clock, submission)


@router.post("/google-ads", response_model=SourceAnswer, openapi_extra=_JSON_BODY, responses=_RESPONSES)
async def post_google_ads(request: Request, session: SessionDep, settings: SettingsDep,
                          clock: ClockDep) -> JSONResponse:
    """A Google Ads lead form webhook (``google_key`` in the body). A test lead is checked, answered 200 and
    neither stored nor routed."""
    key = configured(settings.google_ads_webhook_key, "GOOGLE_ADS_WEBHOOK_KEY")
    body = await request.body()
    try:
        try:
            payload = parse_json(body)
        except BadBody:
            # Without a readable body there is no google_key: nothing says the request comes from Google.
            raise SignatureRejected("The body is not JSON with a google_key.") from None
        google_ads.verify(payload, key)
        submission = google_ads.parse(payload)
        if submission.is_test:
            source_lead(submission, mapping=_mapping(request), now=clock.now())  # a 422 if the form cannot map
            return JSONResponse({"lead_id": None, "status": "test_lead_not_stored"})
    except (SignatureRejected, SourceLeadInvalid) as exc:
        return _refused(exc)
    return await _accept(request, session, settings, clock, submission)


@router.post("/zuddl", response_model=SourceAnswer, openapi_extra=_JSON_BODY, responses=_RESPONSES)
async def post_zuddl(request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep) -> JSONResponse:
    """A Zuddl webhook (``X-Webhook-Token``); only ``LEAD_ADDED`` actions make leads."""
    token = configured(settings.zuddl_webhook_token, "ZUDDL_WEBHOOK_TOKEN")
    body = await request.body()
    try:
        zuddl.verify(request.headers.get(zuddl.HEADER), token)
        submission = zuddl.parse(parse_json(body))
    except (SignatureRejected, BadBody, SourceLeadInvalid) as exc:
        return _refused(exc)
    return await _accept(request, session, settings, clock, submission)


def _mapping(request: Request) -> SourceMapping:
    return request.app.state.source_mapping  # type: ignore[no-any-return]


def _refused(exc: SignatureRejected | BadBody | SourceLeadInvalid) -> JSONResponse:
    if isinstance(exc, SignatureRejected):
        return JSONResponse(status_code=401, content={"detail": str(exc)})
    if isinstance(exc, BadBody):
        return JSONResponse(status_code=exc.status_code, content={
            "detail": str(exc), "errors": [{"field": exc.field, "message": str(exc)}]})
    LEADS_REJECTED.inc()
    return unprocessable(exc.errors)


async def _accept(request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep,
                  submission: SourceSubmission | None) -> JSONResponse:
    if submission is None:  # an event of another kind (a Zuddl registration, …): acknowledged, nothing to do
        return JSONResponse({"lead_id": None, "status": "ignored"})
    now = clock.now()
    try:
        async with session.begin():
            lead_id, is_new = await accept_source_lead(
                session, submission, mapping=_mapping(request), now=now,
                duplicate_lookback=timedelta(days=settings.duplicate_lookback_days))
    except SourceLeadInvalid as exc:
        return _refused(exc)
    except IntegrityError:
        # The provider delivered the same lead twice at once and the other delivery stored it first.
        async with request.app.state.session_factory() as retry:
            known = await known_lead_id(retry, submission.provider, submission.provider_lead_id)
        if known is None:
            raise
        lead_id, is_new = known, False
    if is_new:
        request.app.state.relay.notify()
        LEADS_ACCEPTED.labels(source=source_label(submission.provider)).inc()
    return JSONResponse({"lead_id": lead_id, "status": "accepted" if is_new else "duplicate"})
