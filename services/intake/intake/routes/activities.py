"""``POST /v1/activities``: the CRM webhook (calls, emails, meetings, status changes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from intake import signatures
from intake.activities import ActivitySubmission, UnknownLead, record_activity
from intake.bodies import BadBody, parse_json
from intake.deps import SettingsDep
from intake.metrics import ACTIVITIES_RECORDED, WEBHOOKS_REFUSED
from shared.http import ClockDep, SessionDep, field_errors, unprocessable

router = APIRouter(prefix="/v1/activities", tags=["activities"])


class ActivityAnswer(BaseModel):
    activity_id: str
    lead_id: str
    status: str


@router.post("", status_code=202, response_model=ActivityAnswer, responses={401: {}, 413: {}, 422: {}},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"$ref": "#/components/schemas/ActivitySubmission"}}}}})
async def post_activity(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep,
    x_webhook_timestamp: Annotated[str | None, Header()] = None,
    x_webhook_signature: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Record a CRM activity. A repeated ``activity_id`` is accepted again and has no second effect."""
    body = await request.body()
    now = clock.now()
    try:
        signatures.verify(settings.crm_webhook_secrets, timestamp=x_webhook_timestamp,
                          signature=x_webhook_signature, body=body, now=now.timestamp(),
                          tolerance_seconds=settings.webhook_tolerance_seconds)
    except signatures.SignatureRejected as exc:
        WEBHOOKS_REFUSED.inc()
        raise HTTPException(401, detail=str(exc)) from None
    try:
        activity = ActivitySubmission.model_validate(parse_json(body))
    except BadBody as exc:
        return unprocessable([{"field": exc.field, "message": str(exc)}])
    except ValidationError as exc:
        return unprocessable(field_errors(exc))
    try:
        async with session.begin():
            lead_id, is_new = await record_activity(session, activity, now=now)
    except UnknownLead as exc:
        field, _, message = str(exc).partition(": ")
        return unprocessable([{"field": field, "message": message}])
    except IntegrityError:
        async with request.app.state.session_factory() as retry, retry.begin():
            lead_id, is_new = await record_activity(retry, activity, now=now)
    if is_new:
        request.app.state.relay.notify()
        ACTIVITIES_RECORDED.labels(type=activity.type).inc()
    return JSONResponse({"activity_id": activity.activity_id, "lead_id": lead_id,
                         "status": "accepted" if is_new else "duplicate"}, status_code=202)
