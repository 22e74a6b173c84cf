"""Kafka message handlers: assignments start clocks, activities meet, follow up or cancel them, and a lead's
CRM ids learned after routing are kept for its next write-back."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared import topics
from shared.clock import Clock
from shared.dispatch import Handler, dispatch
from shared.events import TOUCH_TYPES, ActivityRecorded, CloudEvent, LeadAssigned, LeadLinked
from shared.versioned import VersionedDocuments
from sla_monitor import tables
from sla_monitor.alerts import collect, emit
from sla_monitor.assignments import announce, links_of, needs_links, queue_assignment, wanted_formats
from sla_monitor.clock_store import Quarantined, advance, clock_from_row, clock_values, insert_clock, save_clock
from sla_monitor.domain.clock import (
    DEFAULT_TOUCH_SKEW,
    Happening,
    ResponseClock,
    cancel,
    record_touch,
    start_clock,
)
from sla_monitor.domain.policies import Policy, PolicySet
from sla_monitor.settings import DEFAULT_LEAD_URL_TEMPLATE

#: A status change to one of these stops the lead's clocks.
CLOSING_STATUSES = frozenset({"disqualified", "closed", "closed_lost", "closed_won", "lost", "won"})
#: A status change to one of these counts as a reply for the follow-up cadence.
QUALIFYING_STATUSES = frozenset({"qualified", "sales_qualified", "opportunity", "meeting_booked", "converted"})

CONSUMER_GROUP = "sla-monitor"
CONSUMED_TOPICS = [topics.LEADS_ASSIGNED, topics.LEADS_ACTIVITY]


def _is_reply(touch: Any) -> bool:
    if touch.type in TOUCH_TYPES and touch.direction == "inbound":
        return True
    return touch.type == "status_change" and (touch.status or "").lower() in QUALIFYING_STATUSES


def _is_outbound(touch: Any) -> bool:
    return touch.type in TOUCH_TYPES and touch.direction == "outbound"


def _closes(touch: Any) -> bool:
    return touch.type == "status_change" and (touch.status or "").lower() in CLOSING_STATUSES


# Run for every assignment and activity: built once here, they skip SQLAlchemy's statement building and cache-key
# walk on each call (about half of a simple statement's CPU).
_c, _t = tables.clocks, tables.touches
_OPEN_CLOCKS = (select(_c).where(_c.c.lead_id == bindparam("lead"), _c.c.cancelled_at.is_(None),
                                 _c.c.quarantined_at.is_(None))
                .order_by(_c.c.started_at).with_for_update())
_CLOCK = select(_c).where(_c.c.clock_id == bindparam("clock"))
_LEADS_WITH_OPEN_CLOCKS = select(_c.c.lead_id).where(_c.c.lead_id.in_(bindparam("leads", expanding=True)),
                                                     _c.c.cancelled_at.is_(None), _c.c.quarantined_at.is_(None))
_LEADS_WITH_TOUCHES = select(_t.c.lead_id).where(_t.c.lead_id.in_(bindparam("leads", expanding=True)))
_INSERT_CLOCKS = insert(_c)
_TOUCHES_SINCE = (select(_t).where(_t.c.lead_id == bindparam("lead"), _t.c.occurred_at >= bindparam("since"))
                  .order_by(_t.c.occurred_at))


async def _open_clocks(session: AsyncSession, lead_id: str) -> list[Row[Any]]:
    return list((await session.execute(_OPEN_CLOCKS, {"lead": lead_id})).all())


async def _clock_row(session: AsyncSession, clock_id: str) -> Row[Any]:
    return (await session.execute(_CLOCK, {"clock": clock_id})).one()


async def apply_touch(session: AsyncSession, row: Row[Any], touch: Any, *, now: datetime,
                      skew: timedelta = DEFAULT_TOUCH_SKEW) -> list[Happening]:
    """Apply one activity (its CRM date and its arrival) to one stored clock and emit what it caused."""
    clock, happened = advance(row, lambda clock, policy: record_touch(
        clock, policy, at=touch.occurred_at, received_at=touch.received_at, outbound=_is_outbound(touch),
        reply=_is_reply(touch), skew=skew))
    if isinstance(clock, Quarantined):
        await save_clock(session, row, clock, note=None, now=now)
        return []
    note = None
    if happened or clock != clock_from_row(row):
        note = f"{touch.direction or ''} {touch.type} at {touch.occurred_at.isoformat()}".strip()
    if _closes(touch) and touch.occurred_at >= row.assigned_at:
        clock = cancel(clock, at=touch.occurred_at)
        note = f"cancelled: status {touch.status}"
    if note:
        await save_clock(session, row, clock, note=note, now=now)
        await emit(session, row, happened, now=now)
    return happened


async def start_for_assignment(session: AsyncSession, event: CloudEvent, data: LeadAssigned, partition: int, *,
                               policies: VersionedDocuments[PolicySet], now: datetime,
                               skew: timedelta = DEFAULT_TOUCH_SKEW,
                               lead_url_template: str = DEFAULT_LEAD_URL_TEMPLATE) -> str | None:
    """Stop the lead's earlier clocks, start one for this assignment and queue the assignment's deliveries
    (they say when the new clock is due); returns the new clock id."""
    for row in await _open_clocks(session, data.lead_id):
        verb = "reassigned" if data.reason == "reassigned" else "assigned again"
        await save_clock(session, row, cancel(clock_from_row(row), at=data.assigned_at),
                         note=f"cancelled: {verb} to {data.rep_id}", now=now)
    started = await _start_clock(session, event, data, partition, policies=policies, now=now, skew=skew)
    await announce(session, event, data, due_at=started[1] if started else None, url_template=lead_url_template,
                   now=now)
    return started[0] if started else None


async def start_for_assignments(session: AsyncSession, items: list[tuple[LeadAssigned, CloudEvent]], partition: int,
                                *, policies: VersionedDocuments[PolicySet], now: datetime,
                                skew: timedelta = DEFAULT_TOUCH_SKEW,
                                lead_url_template: str = DEFAULT_LEAD_URL_TEMPLATE) -> None:
    """``start_for_assignment`` for a batch, with a handful of statements for the common case — a lead's first
    assignment, no earlier clock, no activity yet: one query each for open clocks, touches, policies, targets
    and learned CRM ids, then one insert for all clocks and one for all deliveries. A lead with an open clock or
    a touch, or assigned twice in the batch, takes the one-by-one path, in order."""
    counts: dict[str, int] = {}
    for data, _ in items:
        counts[data.lead_id] = counts.get(data.lead_id, 0) + 1
    lead_ids = list(counts)
    busy = set((await session.execute(_LEADS_WITH_OPEN_CLOCKS, {"leads": lead_ids})).scalars())
    busy |= set((await session.execute(_LEADS_WITH_TOUCHES, {"leads": lead_ids})).scalars())
    busy |= {lead_id for lead_id, n in counts.items() if n > 1}
    simple = [(data, event) for data, event in items if data.lead_id not in busy]
    if simple:
        active = await policies.active(session)
        alerts = await collect(session, now=now)
        formats = set().union(*(wanted_formats(alerts, data) for data, _ in simple))
        links = await links_of(session, [data.lead_id for data, _ in simple]) if needs_links(formats) else {}
        clocks: list[dict[str, Any]] = []
        for data, event in simple:
            policy = active.parsed.policies.get(data.urgency) if data.rep_id is not None else None
            due_at = None
            if policy is not None:
                clock = start_clock(policy, assigned_at=data.assigned_at, received_at=data.lead.received_at,
                                    captured_at=data.lead.captured_at)
                due_at = clock.due_at
                clocks.append(clock_row(clock, policy, event, data, partition, policy_version=active.number,
                                        now=now))
            queue_assignment(alerts, event, data, due_at=due_at, url_template=lead_url_template, now=now,
                             links=links.get(data.lead_id, {}))
        if clocks:
            await session.execute(_INSERT_CLOCKS, clocks)
        await alerts.write(session)
    for data, event in items:
        if data.lead_id in busy:
            await start_for_assignment(session, event, data, partition, policies=policies, now=now, skew=skew,
                                       lead_url_template=lead_url_template)


def clock_row(clock: ResponseClock, policy: Policy, event: CloudEvent, data: LeadAssigned, partition: int, *,
              policy_version: int, now: datetime) -> dict[str, Any]:
    """The ``clocks`` row of a new clock for this assignment."""
    assert data.rep_id is not None
    lead = {"name": data.lead.name, "company": data.lead.company, "source": data.lead.source,
            "campaign": data.lead.campaign}
    return {**clock_values(clock, policy), "policy": policy.model_dump(mode="json"), "version": secrets.randbits(62),
            "clock_id": str(uuid.uuid4()), "lead_id": data.lead_id, "partition": partition,
            "assignment_event_id": event.id, "team": data.team, "rep_id": data.rep_id, "urgency": data.urgency,
            "source": data.lead.source, "campaign": data.lead.campaign, "lead": lead, "policy_version": policy_version,
            "history": [{"at": now.isoformat(), "what": f"started for {data.rep_id} ({data.reason})"}]}


async def _start_clock(session: AsyncSession, event: CloudEvent, data: LeadAssigned, partition: int, *,
                       policies: VersionedDocuments[PolicySet], now: datetime,
                       skew: timedelta) -> tuple[str, datetime] | None:
    """The new clock's id and due time; None when there is no one to hold the clock or no window to keep."""
    if data.rep_id is None:
        return None
    active = await policies.active(session)
    policy = active.parsed.policies.get(data.urgency)
    if policy is None:  # every urgency has one today; without one there is no window to keep
        return None
    clock = start_clock(policy, assigned_at=data.assigned_at, received_at=data.lead.received_at,
                        captured_at=data.lead.captured_at)
    clock_id = str(uuid.uuid4())
    lead = {"name": data.lead.name, "company": data.lead.company, "source": data.lead.source,
            "campaign": data.lead.campaign}
    await insert_clock(session, clock, policy, clock_id=clock_id, lead_id=data.lead_id, partition=partition,
                       assignment_event_id=event.id, team=data.team, rep_id=data.rep_id, urgency=data.urgency,
                       source=data.lead.source, campaign=data.lead.campaign, lead=lead, policy_version=active.number,
                       history=[{"at": now.isoformat(), "what": f"started for {data.rep_id} ({data.reason})"}])
    # Activities can overtake their assignment (they travel on another topic): apply those already here.
    earlier = (await session.execute(_TOUCHES_SINCE, {"lead": data.lead_id, "since": data.assigned_at - skew})).all()
    for touch in earlier:
        await apply_touch(session, await _clock_row(session, clock_id), touch, now=now, skew=skew)
    return clock_id, clock.due_at


async def record_activity(session: AsyncSession, data: ActivityRecorded, *, now: datetime,
                          skew: timedelta = DEFAULT_TOUCH_SKEW) -> None:
    """Keep the activity (an assignment may still be on its way) and apply it to the lead's open clocks."""
    t = tables.touches
    if (await session.execute(select(t.c.activity_id).where(t.c.activity_id == data.activity_id))).first():
        return
    await session.execute(insert(t).values(activity_id=data.activity_id, lead_id=data.lead_id, type=data.type,
                                           direction=data.direction, status=data.status, rep_id=data.rep_id,
                                           occurred_at=data.occurred_at, received_at=data.received_at))
    for row in await _open_clocks(session, data.lead_id):
        await apply_touch(session, row, data, now=now, skew=skew)


async def record_link(session: AsyncSession, data: LeadLinked, *, now: datetime) -> None:
    """Remember the lead's id in a CRM (the newest wins), so a reassignment updates that record."""
    t = tables.lead_links
    key = (t.c.lead_id == data.lead_id) & (t.c.crm == data.crm)
    if (await session.execute(select(t.c.external_id).where(key))).first() is None:
        await session.execute(insert(t).values(lead_id=data.lead_id, crm=data.crm, external_id=data.external_id,
                                               linked_at=data.linked_at or now))
    else:
        await session.execute(update(t).where(key).values(external_id=data.external_id,
                                                          linked_at=data.linked_at or now))


def make_handler(*, policies: VersionedDocuments[PolicySet], clock: Clock,
                 touch_skew: timedelta = DEFAULT_TOUCH_SKEW,
                 lead_url_template: str = DEFAULT_LEAD_URL_TEMPLATE) -> Handler:
    async def on_assigned(data: LeadAssigned, *, event: CloudEvent, session: AsyncSession, partition: int) -> None:
        await start_for_assignment(session, event, data, partition, policies=policies, now=clock.now(),
                                   skew=touch_skew, lead_url_template=lead_url_template)

    async def on_assigned_many(items: list[tuple[LeadAssigned, CloudEvent]], *, session: AsyncSession,
                               partition: int) -> None:
        await start_for_assignments(session, items, partition, policies=policies, now=clock.now(), skew=touch_skew,
                                    lead_url_template=lead_url_template)

    async def on_activity(data: ActivityRecorded, *, session: AsyncSession, **_: object) -> None:
        await record_activity(session, data, now=clock.now(), skew=touch_skew)

    async def on_linked(data: LeadLinked, *, session: AsyncSession, **_: object) -> None:
        await record_link(session, data, now=clock.now())

    return dispatch({LeadAssigned: on_assigned, ActivityRecorded: on_activity, LeadLinked: on_linked},
                    batches={LeadAssigned: on_assigned_many})
