"""The SLA monitor's admin API: policies, clocks, subscriptions with their delivery log, reports."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import delete, insert, select, update

from shared.document_parsing import UnreadableDocument, read_document
from shared.events import SubscribableEventType, Urgency
from shared.http import ClockDep, SessionDep, unprocessable
from sla_monitor import delivery_log, tables
from sla_monitor.delivery_log import delivery_view
from sla_monitor.domain.policies import InvalidPolicies
from sla_monitor.domain.reports import COLUMNS, speed_to_lead
from sla_monitor.domain.series import SERIES_COLUMNS, BadWindow, Bucket, series, series_rows, window
from sla_monitor.escaping import csv_document
from sla_monitor.report_store import GroupBy, clock_facts
from sla_monitor.ssrf import UnsafeTarget, check_target
from sla_monitor.subscription_secrets import new_secret
from sla_monitor.webhook_url import parse_webhook_url

router = APIRouter(prefix="/v1")
#: Ids in paths: printable text without NUL (PostgreSQL refuses NUL in text, which would be a 500).
PLAIN_ID = r"^[^\x00-\x1f\x7f]+$"
SubscriptionId = Annotated[str, Path(max_length=64, pattern=PLAIN_ID)]
WITH_OFFSET = "An ISO 8601 time with its offset, e.g. 2026-11-01T00:00:00Z or 2026-11-01T00:00:00+01:00."
YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}




def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# ---- policies ---------------------------------------------------------------------------------------------

@router.get("/sla/policies", tags=["policies"])
async def get_policies(request: Request, session: SessionDep) -> dict[str, Any]:
    """The active SLA policies and their version."""
    active = await request.app.state.policies.active(session)
    return {"version": active.number, **active.document}


@router.put("/sla/policies", tags=["policies"], responses={422: {"description": "Every problem, with its path."}},
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}}}}})
async def put_policies(request: Request, session: SessionDep, clock: ClockDep) -> Any:
    """Validate and activate new policies; clocks already running keep the window they started with."""
    try:
        try:
            # In a thread: a large YAML document takes seconds to read, and the event loop serves everyone else.
            document = await asyncio.to_thread(read_document, await request.body(), request.headers.get("content-type"))
        except UnreadableDocument as exc:
            raise InvalidPolicies(exc.errors) from None
        document.pop("version", None)
        async with session.begin():
            active = await request.app.state.policies.save(session, document, origin="api", now=clock.now())
    except InvalidPolicies as exc:
        return JSONResponse(status_code=422, content={
            "detail": f"The policies have {len(exc.errors)} problem(s); nothing was changed.",
            "errors": [{"field": e["path"], "message": e["message"]} for e in exc.errors]})
    return {"version": active.number, **active.document}


# ---- clocks -----------------------------------------------------------------------------------------------

def _clock_view(row: Any) -> dict[str, Any]:
    return {
        "clock_id": row.clock_id, "policy": "first_response", "urgency": row.urgency, "team": row.team,
        "rep_id": row.rep_id, "state": row.state, "started_at": _iso(row.started_at), "due_at": _iso(row.due_at),
        "warn_at": _iso(row.warn_at), "warned_at": _iso(row.warned_at), "breached_at": _iso(row.breached_at),
        "met_at": _iso(row.responded_at) if row.state == "met" else None, "responded_at": _iso(row.responded_at),
        "response_seconds": row.response_seconds, "cancelled_at": _iso(row.cancelled_at),
        "escalation_level": row.escalation_level, "follow_up": row.follow_up, "touches": row.touches,
        "policy_version": row.policy_version, "history": row.history,
        "quarantined_at": _iso(row.quarantined_at), "quarantine_reason": row.quarantine_reason,
    }


@router.get("/sla/clocks/{lead_id}", tags=["clocks"], responses={404: {}})
async def get_clocks(lead_id: Annotated[str, Path(max_length=255, pattern=PLAIN_ID)],
                     session: SessionDep) -> dict[str, Any]:
    """Every clock of the lead, oldest first (a reassignment starts a new one)."""
    c = tables.clocks
    rows = (await session.execute(select(c).where(c.c.lead_id == lead_id).order_by(c.c.started_at))).all()
    if not rows:
        raise HTTPException(404, detail=f"No clock has started for lead {lead_id!r} (yet).")
    return {"lead_id": lead_id, "clocks": [_clock_view(r) for r in rows]}


# ---- subscriptions ----------------------------------------------------------------------------------------

class SubscriptionFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str | list[str] | None = None
    urgency: Urgency | list[Urgency] | None = None
    level: int | list[int] | None = None


def _sendable_url(url: str) -> str:
    """``url`` unchanged if httpx, which will send to it, can parse it; a ValueError saying why otherwise."""
    parse_webhook_url(url)
    return url


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(max_length=2048), AfterValidator(_sendable_url)]
    events: Annotated[list[SubscribableEventType], Field(min_length=1)] = ["sla.breached"]
    filter: SubscriptionFilter = SubscriptionFilter()
    format: Literal["cloudevents", "slack"] = "cloudevents"


def _subscription_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "url": row.url, "events": row.events, "filter": row.filter, "format": row.format,
            "active": row.active, "consecutive_failures": row.consecutive_failures,
            "created_at": _iso(row.created_at), "disabled_at": _iso(row.disabled_at),
            "rotation_grace_until": _iso(row.previous_secret_expires_at)}


@router.post("/subscriptions", status_code=201, tags=["subscriptions"], responses={422: {}})
async def create_subscription(new: NewSubscription, request: Request, session: SessionDep,
                              clock: ClockDep) -> Any:
    """Subscribe a webhook; the answer carries the signing secret, shown only this once."""
    try:
        await check_target(new.url, allow_private=request.app.state.settings.allow_private_webhook_targets)
    except UnsafeTarget as exc:
        return unprocessable([{"field": "url", "message": str(exc)}])
    subscription_id = str(uuid.uuid4())
    secret = new_secret()
    async with session.begin():
        await session.execute(insert(tables.subscriptions).values(
            id=subscription_id, url=new.url, events=list(new.events),
            filter=new.filter.model_dump(exclude_none=True), format=new.format, secret=secret, active=True,
            consecutive_failures=0, created_at=clock.now()))
    return {"id": subscription_id, "secret": secret, "url": new.url, "events": new.events,
            "filter": new.filter.model_dump(exclude_none=True), "format": new.format}


@router.post("/subscriptions/{subscription_id}/rotate-secret", tags=["subscriptions"], responses={404: {}})
async def rotate_subscription_secret(subscription_id: SubscriptionId, request: Request, session: SessionDep,
                                     clock: ClockDep) -> dict[str, Any]:
    """A new signing secret, shown only this once. For ``SUBSCRIPTION_SECRET_GRACE_SECONDS`` deliveries are
    signed with the new and the previous secret, so the receiver can switch at leisure; then the new only."""
    s = tables.subscriptions
    secret = new_secret()
    expires_at = clock.now() + timedelta(seconds=request.app.state.settings.subscription_secret_grace_seconds)
    async with session.begin():
        current = (await session.execute(select(s.c.secret).where(s.c.id == subscription_id)
                                         .with_for_update())).scalar()
        if current is None:
            raise HTTPException(404, detail=f"No subscription {subscription_id!r}.")
        await session.execute(update(s).where(s.c.id == subscription_id).values(
            secret=secret, previous_secret=current, previous_secret_expires_at=expires_at))
    return {"id": subscription_id, "secret": secret, "rotation_grace_until": _iso(expires_at)}


@router.get("/subscriptions", tags=["subscriptions"])
async def list_subscriptions(session: SessionDep) -> dict[str, Any]:
    rows = (await session.execute(select(tables.subscriptions).order_by(tables.subscriptions.c.created_at))).all()
    return {"subscriptions": [_subscription_view(r) for r in rows]}


@router.delete("/subscriptions/{subscription_id}", status_code=204, tags=["subscriptions"], responses={404: {}})
async def delete_subscription(subscription_id: SubscriptionId, session: SessionDep) -> Response:
    async with session.begin():
        gone = await session.execute(delete(tables.subscriptions).where(tables.subscriptions.c.id == subscription_id))
    if gone.rowcount == 0:  # type: ignore[attr-defined]
        raise HTTPException(404, detail=f"No subscription {subscription_id!r}.")
    return Response(status_code=204)


@router.get("/subscriptions/{subscription_id}/deliveries", tags=["subscriptions"], responses={404: {}})
async def list_deliveries(subscription_id: SubscriptionId, session: SessionDep,
                          limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """The delivery log, newest first: state, attempts, last status or error, next attempt."""
    if not await delivery_log.subscription_exists(session, subscription_id):
        raise HTTPException(404, detail=f"No subscription {subscription_id!r}.")
    rows = await delivery_log.deliveries_of_subscription(session, subscription_id, limit=limit)
    return {"deliveries": [delivery_view(r) for r in rows]}


@router.get("/leads/{lead_id}/deliveries", tags=["subscriptions"])
async def lead_deliveries(lead_id: Annotated[str, Path(max_length=255, pattern=PLAIN_ID)], session: SessionDep,
                          limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Everything sent about the lead, oldest first: each webhook, Slack message, CRM write-back and email,
    with its channel, state (``pending``, ``delivered``, ``failed``), attempts, last error and the id a CRM
    answered. An empty list when nothing was (yet)."""
    rows = await delivery_log.deliveries_of_lead(session, lead_id, limit=limit)
    return {"lead_id": lead_id, "deliveries": [delivery_view(r) for r in rows]}


# ---- reports ----------------------------------------------------------------------------------------------

ReportGroupBy = Annotated[GroupBy, Query(description="What to group the clocks by.")]
ReportFrom = Annotated[AwareDatetime | None, Query(alias="from", description=WITH_OFFSET)]
ReportTo = Annotated[AwareDatetime | None, Query(description=WITH_OFFSET)]


def _fits_in_utc(moment: datetime) -> bool:
    """Whether ``moment`` has a UTC equivalent (0001-01-01T00:00+05:00 has none, and the database query would fail)."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


def _wants_csv(request: Request, format_: str | None) -> bool:
    return format_ == "csv" or (format_ is None and "text/csv" in request.headers.get("accept", ""))


@router.get("/reports/speed-to-lead", tags=["reports"], responses={200: {"content": {"text/csv": {}}}})
async def speed_to_lead_report(request: Request, session: SessionDep, from_: ReportFrom = None, to: ReportTo = None,
                               group_by: ReportGroupBy = "team") -> Any:
    """First-response clocks started in ``[from, to)``, grouped; ``Accept: text/csv`` gives CSV."""
    off_calendar = [{"field": field, "message": f"{field} must lie between the years 1 and 9999 in UTC."}
                    for field, bound in (("from", from_), ("to", to)) if bound is not None and not _fits_in_utc(bound)]
    if off_calendar:
        return unprocessable(off_calendar)
    report = speed_to_lead(await clock_facts(session, group_by=group_by, from_=from_, to=to))
    if "text/csv" in request.headers.get("accept", ""):
        return Response(csv_document(COLUMNS, report), media_type="text/csv")
    return {"group_by": group_by, "from": _iso(from_), "to": _iso(to), "groups": report}


@router.get("/reports/speed-to-lead/series", tags=["reports"], responses={200: {"content": {"text/csv": {}}}})
async def speed_to_lead_series(
    request: Request, session: SessionDep, clock: ClockDep, from_: ReportFrom = None, to: ReportTo = None,
    bucket: Annotated[Bucket, Query(description="UTC days, or weeks starting on Monday.")] = "day",
    group_by: ReportGroupBy = "team",
    format_: Annotated[Literal["json", "csv"] | None, Query(alias="format")] = None,
) -> Any:
    """Speed to lead over time: for each group and each day or week of ``[from, to)``, the leads whose clock
    started then, the median and p90 first response in seconds, the % of decided clocks (met or breached) met
    within the SLA, and touches per lead. ``to`` defaults to now and ``from`` to 30 days (12 weeks) before.
    Every bucket of the window has a point (figures null when empty). ``format=csv`` (or ``Accept: text/csv``)
    gives one CSV row per group and bucket."""
    try:
        start, end = window(from_, to, bucket, now=clock.now())
    except BadWindow as exc:
        return unprocessable([{"field": "from", "message": str(exc)}])
    groups = series(await clock_facts(session, group_by=group_by, from_=start, to=end),
                    start=start, end=end, bucket=bucket)
    if _wants_csv(request, format_):
        filename = f"speed-to-lead-{group_by}-{bucket}.csv"
        return Response(csv_document(SERIES_COLUMNS, series_rows(groups)), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return {"bucket": bucket, "group_by": group_by, "from": _iso(start), "to": _iso(end), "series": groups}
