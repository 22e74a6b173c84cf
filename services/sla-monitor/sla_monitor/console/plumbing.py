"""The plumbing page: deliveries (failed first) with a resend button, CRM events waiting for their lead
(intake), and what each service dead-lettered, with a replay button."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.dlq import dlq_status, replay
from shared.http import ClockDep, SessionDep
from shared.logging import get_logger
from sla_monitor import delivery_log
from sla_monitor.console.auth import CsrfDep
from sla_monitor.console.auth import SessionDep as ConsoleSession
from sla_monitor.console.pages import render, templates
from sla_monitor.console.upstream import UpstreamDep, UpstreamFailed
from sla_monitor.delivery_log import ResendRefused, delivery_view
from sla_monitor.handlers import CONSUMED_TOPICS, CONSUMER_GROUP

log = get_logger(__name__)
router = APIRouter(prefix="/plumbing")
DELIVERY_LIMIT = 100
DeliveryId = Annotated[int, Path(ge=1, le=2**62)]
ServiceName = Literal["intake", "router", "sla-monitor"]
SERVICES: tuple[ServiceName, ...] = ("intake", "router", "sla-monitor")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.get("", include_in_schema=False)
async def plumbing_page(request: Request, console: ConsoleSession, session: SessionDep) -> HTMLResponse:
    rows = await delivery_log.failed_first(session, limit=DELIVERY_LIMIT)
    return render(request, "plumbing.html", {"deliveries": [delivery_view(r) for r in rows]},
                  session=console, active="plumbing")


async def _delivery_row(request: Request, session: SessionDep, delivery_id: int, *, csrf: str,
                        notice: str | None = None) -> HTMLResponse:
    row = await delivery_log.delivery_with_channel(session, delivery_id)
    if row is None:
        return HTMLResponse(f"<tr><td colspan=\"9\">No delivery {delivery_id}.</td></tr>", status_code=404)
    return templates.TemplateResponse(request, "_delivery_row.html", {"d": delivery_view(row), "notice": notice,
                                                                      "csrf_token": csrf})


@router.get("/deliveries/{delivery_id}", include_in_schema=False)
async def delivery_row(delivery_id: DeliveryId, request: Request, console: ConsoleSession,
                       session: SessionDep) -> HTMLResponse:
    """One delivery's row (a pending row fetches itself again until it is sent)."""
    return await _delivery_row(request, session, delivery_id, csrf=console.csrf_token)


@router.post("/deliveries/{delivery_id}/resend", include_in_schema=False)
async def resend_delivery(delivery_id: DeliveryId, request: Request, console: CsrfDep, session: SessionDep,
                          clock: ClockDep) -> Response:
    notice = None
    try:
        async with session.begin():
            await delivery_log.resend(session, delivery_id, now=clock.now())
    except ResendRefused as exc:
        notice = str(exc)
    else:
        request.app.state.delivery.wake()
        log.info("console.delivery_resent", delivery_id=delivery_id)
    if not _is_htmx(request):
        return RedirectResponse("/ops/plumbing", status_code=303)
    return await _delivery_row(request, session, delivery_id, csrf=console.csrf_token, notice=notice)


@router.get("/unmatched", include_in_schema=False)
async def unmatched_part(request: Request, _console: ConsoleSession, upstream: UpstreamDep) -> HTMLResponse:
    """CRM events intake keeps until a lead with their CRM record's id is known."""
    try:
        answer = await upstream.get("intake", "/v1/integrations/unmatched", params={"limit": 100})
        context: dict[str, Any] = {"count": answer["count"], "items": answer["items"], "error": None}
    except UpstreamFailed as exc:
        context = {"count": None, "items": [], "error": str(exc)}
    return templates.TemplateResponse(request, "_unmatched.html", context)


async def _dlq_of(service: ServiceName, request: Request, upstream: UpstreamDep) -> dict[str, Any]:
    """``{"service", "topics": {topic: {"count", "not_replayed"}}, "error"}`` for one service."""
    try:
        if service == "sla-monitor":
            status = await dlq_status(request.app.state.settings, group=CONSUMER_GROUP, topics=CONSUMED_TOPICS,
                                      recent=0)
        else:
            status = await upstream.get(service, "/v1/admin/dlq")
    except UpstreamFailed as exc:
        return {"service": service, "topics": {}, "error": str(exc)}
    except Exception as exc:  # the broker is away: say so on the page, keep the rest of it working
        error = f"Cannot read the dead-letter topics ({type(exc).__name__}); is the broker up?"
        return {"service": service, "topics": {}, "error": error}
    topics = {name: {"count": t.get("count", 0), "not_replayed": t.get("not_replayed", 0)}
              for name, t in (status.get("topics") or {}).items()}
    return {"service": service, "topics": topics, "error": None,
            "waiting": sum(t["not_replayed"] for t in topics.values()),
            "total": sum(t["count"] for t in topics.values())}


async def _dlq_part(request: Request, upstream: UpstreamDep, csrf: str, *,
                    notice: str | None = None) -> HTMLResponse:
    services = await asyncio.gather(*(_dlq_of(s, request, upstream) for s in SERVICES))
    return templates.TemplateResponse(request, "_dlq.html", {"services": services, "notice": notice,
                                                             "csrf_token": csrf})


@router.get("/dlq", include_in_schema=False)
async def dlq_part(request: Request, console: ConsoleSession, upstream: UpstreamDep) -> HTMLResponse:
    return await _dlq_part(request, upstream, console.csrf_token)


@router.post("/dlq/{service}/replay", include_in_schema=False)
async def replay_dlq(service: ServiceName, request: Request, console: CsrfDep, upstream: UpstreamDep) -> Response:
    """Re-inject what ``service`` dead-lettered and has not replayed yet (``POST /v1/admin/dlq/replay``)."""
    try:
        if service == "sla-monitor":
            result = await replay(request.app.state.settings, group=CONSUMER_GROUP, topics=CONSUMED_TOPICS,
                                  publisher=request.app.state.publisher)
        else:
            result = await upstream.post(service, "/v1/admin/dlq/replay")
        notice = f"{service}: replayed {result.get('replayed', 0)}, skipped {result.get('skipped', 0)}."
    except UpstreamFailed as exc:
        notice = str(exc)
    except Exception as exc:  # the broker is away
        notice = f"{service}: the replay did not run ({type(exc).__name__}); try again when the broker is back."
    log.info("console.dlq_replayed", service=service)
    if not _is_htmx(request):
        return RedirectResponse("/ops/plumbing", status_code=303)
    return await _dlq_part(request, upstream, console.csrf_token, notice=notice)
