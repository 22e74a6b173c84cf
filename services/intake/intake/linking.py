"""Consuming ``lead.linked``: a lead got an id in a CRM, so activities parked for that id are recorded now."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from intake.identity import link_external_ids
from shared import topics
from shared.dispatch import Handler, dispatch
from shared.events import CloudEvent, LeadLinked

CONSUMER_GROUP = "intake"
#: ``lead.linked`` travels on leads.activity (with intake's own ``activity.recorded``, which is skipped).
CONSUMED_TOPICS = [topics.LEADS_ACTIVITY]


async def on_linked(data: LeadLinked, *, event: CloudEvent, session: AsyncSession, partition: int) -> None:
    await link_external_ids(session, data.lead_id, {data.crm: data.external_id}, now=datetime.now(UTC))


def linked_handler() -> Handler:
    return dispatch({LeadLinked: on_linked})
