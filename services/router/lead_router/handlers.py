"""Kafka message handlers, routed by event class. Each runs inside the consumer's transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lead_router.domain.config import RoutingConfig
from lead_router.queue import mark_touched, reassign
from lead_router.routing import route_received_lead, route_received_leads
from shared import topics
from shared.clock import Clock
from shared.dispatch import Handler, dispatch
from shared.events import ActivityRecorded, LeadReceived, ReassignmentRequested
from shared.logging import get_logger
from shared.versioned import VersionedDocuments

log = get_logger(__name__)

CONSUMER_GROUP = "router"
CONSUMED_TOPICS = [topics.LEADS_RECEIVED, topics.LEADS_ACTIVITY, topics.SLA_ALERTS]


def make_handler(*, documents: VersionedDocuments[RoutingConfig], clock: Clock) -> Handler:
    async def on_received(data: LeadReceived, *, session: AsyncSession, **_: object) -> None:
        row = await route_received_lead(session, data, active=await documents.active(session), now=clock.now())
        if row is not None:
            log.info("router.lead_routed", lead_id=data.lead_id, team=row["team"], rep_id=row["rep_id"],
                     state=row["state"])

    async def on_received_many(items: list[tuple[LeadReceived, object]], *, session: AsyncSession,
                               **_: object) -> None:
        rows = await route_received_leads(session, [data for data, _event in items],
                                          active=await documents.active(session), now=clock.now())
        for row in rows:
            log.info("router.lead_routed", lead_id=row["lead_id"], team=row["team"], rep_id=row["rep_id"],
                     state=row["state"])

    async def on_activity(data: ActivityRecorded, *, session: AsyncSession, **_: object) -> None:
        if data.is_outbound_touch:
            await mark_touched(session, data.lead_id, occurred_at=data.occurred_at)

    async def on_reassignment(data: ReassignmentRequested, *, session: AsyncSession, **_: object) -> None:
        if await reassign(session, data, active=await documents.active(session), now=clock.now()):
            log.info("router.lead_reassigned", lead_id=data.lead_id)

    # Other events on sla.alerts (warnings, breaches, met) are not for the router: dispatch ignores them.
    return dispatch({LeadReceived: on_received, ActivityRecorded: on_activity,
                     ReassignmentRequested: on_reassignment},
                    batches={LeadReceived: on_received_many})
