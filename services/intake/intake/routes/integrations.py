"""``/v1/integrations/*``: CRM webhooks in each CRM's native format (CONTRACT.md "Integrations")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from intake.bodies import BadBody, parse_json
from intake.crm import hubspot
from intake.crm.hubspot_batch import record_batch
from intake.deps import SettingsDep, configured
from intake.metrics import WEBHOOKS_REFUSED
from shared.http import ClockDep, unprocessable

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])


# --- HubSpot ---------------------------------------------------------------------------------------------------

def called_uri(request: Request, public_url: str | None) -> str:
    """The URI HubSpot called: INTAKE_PUBLIC_URL (behind a proxy the request's own scheme and host differ from
    what HubSpot signed) or else the request's, with the path and query as they came on the wire."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    target = raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
    base = public_url.rstrip("/") if public_url else f"{request.url.scheme}://{request.url.netloc}"
    return base + target


@router.post("/hubspot", responses={401: {}, 404: {}, 413: {}, 422: {}, 503: {}}, openapi_extra={
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "array", "maxItems": hubspot.MAX_EVENTS, "items": {"type": "object"}}}}}})
async def hubspot_webhook(
    request: Request, settings: SettingsDep, clock: ClockDep,
    x_hubspot_signature_v3: Annotated[str | None, Header()] = None,
    x_hubspot_request_timestamp: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """HubSpot webhooks (signature v3): last-contacted changes are touches, owner changes are recorded, created
    calls, emails and meetings are touches when HUBSPOT_ACCESS_TOKEN lets intake find their contact."""
    secret = configured(settings.hubspot_client_secret, "HUBSPOT_CLIENT_SECRET")
    body = await request.body()
    now = clock.now()
    try:
        hubspot.verify(secret, method=request.method, uri=called_uri(request, settings.intake_public_url),
                       body=body, timestamp=x_hubspot_request_timestamp, given=x_hubspot_signature_v3,
                       now_ms=int(now.timestamp() * 1000))
    except hubspot.SignatureRejected as exc:
        WEBHOOKS_REFUSED.inc()
        raise HTTPException(401, detail=str(exc)) from None
    try:
        events = parse_json(body)
        if not isinstance(events, list):
            raise BadBody("HubSpot sends a JSON array of events; this body is not an array.")
        if len(events) > hubspot.MAX_EVENTS:
            raise BadBody(f"HubSpot sends at most {hubspot.MAX_EVENTS} events per request; this one has "
                          f"{len(events)}.", status_code=413)
    except BadBody as exc:
        if exc.status_code != 422:
            raise HTTPException(exc.status_code, detail=str(exc)) from None
        return unprocessable([{"field": exc.field, "message": str(exc)}])
    token = settings.hubspot_access_token.get_secret_value() if settings.hubspot_access_token else None
    outcome = await record_batch(events, session_factory=request.app.state.session_factory, access_token=token,
                                 api_url=settings.hubspot_api_url, now=now)
    if outcome.counts["accepted"]:
        request.app.state.relay.notify()
    if outcome.unavailable is not None:
        # Everything else is stored; HubSpot delivers the batch again and the engagements get their turn.
        return JSONResponse({"detail": f"{outcome.unavailable} The batch will be delivered again.",
                             **outcome.summary()}, status_code=503, headers={"Retry-After": "60"})
    return JSONResponse(outcome.summary(), status_code=200)
