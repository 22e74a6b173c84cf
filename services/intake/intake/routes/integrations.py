"""CRM webhooks in the providers' own formats (CONTRACT.md "Integrations"): check the provider's credentials,
map with ``intake.crm.<provider>``, store through ``intake.identity`` (the outbox publishes
``activity.recorded``), answer as the provider expects. An integration whose secret is unset answers 404
naming the variable."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from intake.bodies import BadBody, parse_json
from intake.crm import BadPayload, Mapped, Skipped, hubspot
from intake.crm import close as close_crm
from intake.crm import pipedrive as pipedrive_crm
from intake.crm import salesforce as salesforce_crm
from intake.crm.hubspot_batch import record_batch
from intake.deps import SettingsDep, configured
from intake.identity import CrmActivity, RecordOutcome, record_crm_activities
from intake.metrics import ACTIVITIES_RECORDED, WEBHOOKS_REFUSED
from shared.http import ClockDep, unprocessable
from shared.logging import get_logger

log = get_logger(__name__)

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])

#: A Salesforce message holds up to 100 notifications of the fields chosen for it.
SALESFORCE_BODY_LIMIT = 1024 * 1024


def body_limit(path: str, default: int) -> int:
    """The body limit of an integration path (``default`` for the others)."""
    if path == "/v1/integrations/hubspot":
        return hubspot.MAX_BODY_BYTES
    return SALESFORCE_BODY_LIMIT if path.startswith("/v1/integrations/salesforce/") else default


async def _record(request: Request, crm: str, mapped: Sequence[Mapped], *,
                  now: datetime) -> list[tuple[str | None, RecordOutcome]]:
    """Store the activities among ``mapped`` (one transaction), log the skipped ones, wake the relay."""
    activities = [item for item in mapped if isinstance(item, CrmActivity)]
    for item in mapped:
        if isinstance(item, Skipped):
            log.info("integration.skipped", crm=crm, item=item.key, reason=item.reason)
    if not activities:
        return []
    outcomes = await record_crm_activities(request.app.state.session_factory, activities, now=now)
    accepted = [a for a, (_, outcome) in zip(activities, outcomes, strict=True) if outcome == "accepted"]
    for activity, (_, outcome) in zip(activities, outcomes, strict=True):
        log.info("integration.activity", crm=crm, activity_id=activity.activity_id, outcome=outcome)
    if accepted:
        request.app.state.relay.notify()
        for activity in accepted:
            ACTIVITIES_RECORDED.labels(type=activity.type).inc()
    return outcomes


def _refused(detail: str, *, headers: dict[str, str] | None = None) -> HTTPException:
    WEBHOOKS_REFUSED.inc()
    return HTTPException(401, detail=detail, headers=headers)


def _bad(exc: BadPayload | BadBody) -> JSONResponse:
    return unprocessable([{"field": exc.field, "message": str(exc)}])


def _summary(mapped: Sequence[Mapped], outcomes: Sequence[tuple[str | None, RecordOutcome]]) -> dict[str, Any]:
    activities = [item for item in mapped if isinstance(item, CrmActivity)]
    return {"activities": [{"activity_id": a.activity_id, "lead_id": lead_id, "status": outcome}
                           for a, (lead_id, outcome) in zip(activities, outcomes, strict=True)],
            "skipped": [{"event": s.key, "reason": s.reason} for s in mapped if isinstance(s, Skipped)]}


# --- Salesforce Outbound Messages ---------------------------------------------------------------------------

def _soap_fault(status_code: int, message: str) -> Response:
    """A SOAP 1.1 fault: Salesforce keeps the message and retries it."""
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            f'<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>{message}</faultstring>'
            '</soapenv:Fault></soapenv:Body></soapenv:Envelope>\n')
    return Response(body.encode(), status_code=status_code, media_type=salesforce_crm.ACK_MEDIA_TYPE)


@router.post("/salesforce/{token}", responses={200: {"content": {"text/xml": {}}}, 401: {}, 404: {}, 413: {},
                                                422: {}, 503: {}})
async def salesforce(token: str, request: Request, settings: SettingsDep, clock: ClockDep) -> Response:
    """Salesforce Outbound Messages (SOAP ``notifications`` of ``Task``/``Event``); answers the documented
    ``notificationsResponse`` with ``<Ack>true</Ack>`` once every mappable notification is stored."""
    expected = configured(settings.salesforce_outbound_token, "SALESFORCE_OUTBOUND_TOKEN")
    if not hmac.compare_digest(expected.encode(), token.encode()):
        raise _refused("The path token is not SALESFORCE_OUTBOUND_TOKEN.")
    body = await request.body()
    now = clock.now()
    try:
        message = salesforce_crm.parse(body)
    except BadPayload as exc:
        return _bad(exc)
    if settings.salesforce_org_id and not salesforce_crm.same_org(message.organization_id, settings.salesforce_org_id):
        raise _refused("OrganizationId is not SALESFORCE_ORG_ID.")
    mapped = [salesforce_crm.to_activity(n, now=now) for n in message.notifications]
    try:
        await _record(request, "salesforce", mapped, now=now)
    except (SQLAlchemyError, OSError):
        log.exception("integration.store_failed", crm="salesforce")
        return _soap_fault(503, "The notifications could not be stored; they are not acknowledged.")
    return Response(salesforce_crm.ACK, media_type=salesforce_crm.ACK_MEDIA_TYPE)


# --- Pipedrive webhooks v2 ----------------------------------------------------------------------------------

PIPEDRIVE_CHALLENGE = {"WWW-Authenticate": 'Basic realm="leadrouter pipedrive", charset="UTF-8"'}


def _basic_credentials(authorization: str | None) -> tuple[bytes, bytes] | None:
    scheme, _, encoded = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    return (user, password) if sep else None


@router.post("/pipedrive", status_code=200, responses={401: {}, 404: {}, 413: {}, 422: {}})
async def pipedrive(request: Request, settings: SettingsDep, clock: ClockDep,
                    authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Pipedrive webhooks v2 with HTTP Basic auth: a done activity is recorded; every other event is 200."""
    user = configured(settings.pipedrive_webhook_user, "PIPEDRIVE_WEBHOOK_USER")
    password = configured(settings.pipedrive_webhook_password, "PIPEDRIVE_WEBHOOK_PASSWORD")
    given = _basic_credentials(authorization) or (b"", b"")
    # Both compared every time, each in constant time.
    user_ok = hmac.compare_digest(user.encode(), given[0])
    password_ok = hmac.compare_digest(password.encode(), given[1])
    if not (user_ok & password_ok):
        raise _refused("HTTP Basic credentials are not PIPEDRIVE_WEBHOOK_USER / PIPEDRIVE_WEBHOOK_PASSWORD.",
                       headers=PIPEDRIVE_CHALLENGE)
    body = await request.body()
    now = clock.now()
    try:
        mapped = [pipedrive_crm.to_activity(parse_json(body))]
    except (BadPayload, BadBody) as exc:
        return _bad(exc)
    outcomes = await _record(request, "pipedrive", mapped, now=now)
    return JSONResponse(_summary(mapped, outcomes))


# --- Close --------------------------------------------------------------------------------------------------

@router.post("/close", status_code=200, responses={401: {}, 404: {}, 413: {}, 422: {}, 503: {}})
async def close(request: Request, settings: SettingsDep, clock: ClockDep,
                close_sig_hash: Annotated[str | None, Header()] = None,
                close_sig_timestamp: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Close webhooks signed with ``close-sig-hash``: created calls, emails, texts and meetings."""
    key = configured(settings.close_signature_key, "CLOSE_SIGNATURE_KEY")
    body = await request.body()
    now = clock.now()
    try:
        close_crm.verify(key, timestamp=close_sig_timestamp, given=close_sig_hash, body=body, now=now.timestamp(),
                         tolerance_seconds=settings.webhook_tolerance_seconds)
    except close_crm.KeyNotHex as exc:
        return JSONResponse({"detail": str(exc)}, status_code=503)
    except close_crm.SignatureRejected as exc:
        raise _refused(str(exc)) from None
    try:
        mapped = [close_crm.to_activity(parse_json(body))]
    except (BadPayload, BadBody) as exc:
        return _bad(exc)
    outcomes = await _record(request, "close", mapped, now=now)
    return JSONResponse(_summary(mapped, outcomes))


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
