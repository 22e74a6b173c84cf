"""Kafka message handlers, routed by event type. Each runs inside the consumer's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from lead_router.domain.config import RoutingConfig
from lead_router.queue import mark_touched, reassign
from lead_router.routing import route_received_lead
from shared.clock import Clock
from shared.events import ActivityRecorded, CloudEvent, LeadReceived, ReassignmentRequested, parse_data
from shared.logging import get_logger
from shared.versioned import VersionedDocuments

log = get_logger(__name__)


Handler = Callable[[CloudEvent, AsyncSession, int], Awaitable[None]]


def make_handler(*, documents: VersionedDocuments[RoutingConfig], clock: Clock) -> Handler:
    async def handle(event: CloudEvent, session: AsyncSession, _partition: int) -> None:
        if event.type not in HANDLED:
            return  # other events on sla.alerts are not for the router
        data = parse_data(event)
        if isinstance(data, LeadReceived):
            row = await route_received_lead(session, data, active=await documents.active(session), now=clock.now())
            if row is not None:
                log.info("router.lead_routed", lead_id=data.lead_id, team=row["team"], rep_id=row["rep_id"],
                         state=row["state"])
        elif isinstance(data, ActivityRecorded):
            if data.is_outbound_touch:
                await mark_touched(session, data.lead_id, occurred_at=data.occurred_at)
        elif isinstance(data, ReassignmentRequested):
            if await reassign(session, data, active=await documents.active(session), now=clock.now()):
                log.info("router.lead_reassigned", lead_id=data.lead_id)

    return handle


HANDLED = frozenset({"lead.received", "activity.recorded", "lead.reassignment_requested"})
