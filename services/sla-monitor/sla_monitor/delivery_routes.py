"""The delivery log across every target, and sending a delivery again (``leadrouter deliveries``, the console's
plumbing page)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from shared.http import ClockDep, SessionDep
from sla_monitor import delivery_log
from sla_monitor.delivery_log import ResendRefused, delivery_view

router = APIRouter(prefix="/v1")
DeliveryState = Literal["pending", "delivered", "failed", "superseded"]
Channel = Annotated[str, Query(max_length=16, pattern=r"^[a-z_]+$",
                               description="cloudevents, slack, hubspot, salesforce or email")]


@router.get("/deliveries", tags=["subscriptions"])
async def list_all_deliveries(session: SessionDep, state: DeliveryState | None = None, channel: Channel | None = None,
                              limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Deliveries to every target, newest first, with their target (``subscription_id``) and ``channel``."""
    rows = await delivery_log.recent_deliveries(session, state=state, channel=channel, limit=limit)
    return {"deliveries": [delivery_view(r) for r in rows]}


@router.post("/deliveries/{delivery_id}/resend", status_code=202, tags=["subscriptions"],
             responses={404: {}, 409: {"description": "Already pending, superseded, or its target is gone."}})
async def resend_delivery(delivery_id: Annotated[int, Path(ge=1, le=2**62)], request: Request, session: SessionDep,
                          clock: ClockDep) -> Any:
    """Send a delivered or failed delivery again, at once, with its attempts reset. It keeps its event id, so
    a receiver that got it before recognises the repeat."""
    try:
        async with session.begin():
            await delivery_log.resend(session, delivery_id, now=clock.now())
    except ResendRefused as exc:
        return JSONResponse(status_code=exc.status, content={"detail": str(exc)})
    request.app.state.delivery.wake()
    return {"id": delivery_id, "state": "pending"}


