"""``/v1/sources/meta`` and ``/v1/sources/linkedin``: webhooks that announce leads by id. Each answers 200 as soon
as the notice is stored; ``intake.lead_fetches`` reads the lead from the provider's API afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from intake import lead_fetches
from intake.bodies import BadBody, parse_json
from intake.deps import SettingsDep, configured
from intake.metrics import LEAD_NOTICES, LEAD_NOTICES_REFUSED
from intake.sources import linkedin, meta
from intake.sources.fetching import BadNotification, LeadNotice
from shared.http import ClockDep, SessionDep, unprocessable

router = APIRouter(prefix="/v1/sources", tags=["sources"])

NOTICE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong signature; nothing stored."},
    404: {"description": "The integration's secret is not set."}, 413: {}, 422: {}}


@router.get("/meta", response_class=PlainTextResponse, responses={403: {}, 404: {}})
async def verify_meta(
    settings: SettingsDep,
    mode: Annotated[str | None, Query(alias="hub.mode", max_length=64)] = None,
    verify_token: Annotated[str | None, Query(alias="hub.verify_token", max_length=512)] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=512, pattern=r"^[\x21-\x7e]+$")] = None,
) -> PlainTextResponse:
    """Meta's subscription handshake: echo ``hub.challenge`` when ``hub.verify_token`` is META_VERIFY_TOKEN."""
    expected = configured(settings.meta_verify_token, "META_VERIFY_TOKEN")
    try:
        answer = meta.challenge(mode=mode, verify_token=verify_token, challenge_value=challenge, expected=expected)
    except meta.VerificationRefused as exc:
        raise HTTPException(403, detail=str(exc)) from None
    return PlainTextResponse(answer)


@router.post("/meta", responses=NOTICE_RESPONSES)
async def meta_leadgen(request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep) -> JSONResponse:
    """Meta Lead Ads ``leadgen`` webhook, signed with ``X-Hub-Signature-256``."""
    secret = configured(settings.meta_app_secret, "META_APP_SECRET")
    return await _store_notices(request, session, clock, provider=meta.PROVIDER,
                                signed=lambda body: meta.signature_matches(
                                    secret, request.headers.get(meta.SIGNATURE_HEADER), body),
                                parse=meta.notices, header=meta.SIGNATURE_HEADER)


@router.get("/linkedin", responses={404: {}, 422: {}})
async def verify_linkedin(settings: SettingsDep,
                          challenge_code: Annotated[str, Query(alias="challengeCode", min_length=1, max_length=512,
                                                               pattern=r"^[\x21-\x7e]+$")]) -> dict[str, str]:
    """LinkedIn's webhook validation: ``challengeResponse`` = hex HMAC-SHA256(client secret, challengeCode)."""
    secret = configured(settings.linkedin_client_secret, "LINKEDIN_CLIENT_SECRET")
    return linkedin.challenge_response(secret, challenge_code)


@router.post("/linkedin", responses=NOTICE_RESPONSES)
async def linkedin_lead_action(request: Request, session: SessionDep, settings: SettingsDep,
                               clock: ClockDep) -> JSONResponse:
    """LinkedIn Lead Sync ``LEAD_ACTION`` notification, signed with ``X-LI-Signature``."""
    secret = configured(settings.linkedin_client_secret, "LINKEDIN_CLIENT_SECRET")
    return await _store_notices(request, session, clock, provider=linkedin.PROVIDER,
                                signed=lambda body: linkedin.signature_matches(
                                    secret, request.headers.get(linkedin.SIGNATURE_HEADER), body),
                                parse=linkedin.notices, header=linkedin.SIGNATURE_HEADER)


async def _store_notices(request: Request, session: SessionDep, clock: ClockDep, *, provider: str,
                         signed: Callable[[bytes], bool], parse: Callable[[Any], list[LeadNotice]],
                         header: str) -> JSONResponse:
    body = await request.body()
    if not signed(body):
        LEAD_NOTICES_REFUSED.labels(provider=provider).inc()
        raise HTTPException(401, detail=f"The {header} header is missing or does not match the body.")
    try:
        notices = parse(parse_json(body))
    except BadBody as exc:
        return unprocessable([{"field": exc.field, "message": str(exc)}])
    except BadNotification as exc:
        return unprocessable([{"field": exc.field, "message": exc.message}])
    async with session.begin():
        new = await lead_fetches.record_notices(session, notices, now=clock.now())
    if new:
        LEAD_NOTICES.labels(provider=provider).inc(new)
        request.app.state.lead_fetcher.notices_stored()
    return JSONResponse({"status": "accepted", "leads": len(notices), "new": new})
