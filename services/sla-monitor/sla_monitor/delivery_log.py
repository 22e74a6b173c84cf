"""Reading the delivery log: per target (a webhook subscription or a built-in CRM/email target) and per lead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from sla_monitor import tables


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def delivery_view(row: Row[Any]) -> dict[str, Any]:
    """One delivery as the API shows it: what, where, its state and its last outcome (never its payload)."""
    view = {"id": row.id, "event_id": row.event_id, "event_type": row.event_type, "lead_id": row.lead_id,
            "state": row.state, "attempts": row.attempts, "last_status": row.last_status,
            "last_error": row.last_error, "next_attempt_at": _iso(row.next_attempt_at),
            "created_at": _iso(row.created_at), "delivered_at": _iso(row.delivered_at),
            "external_id": row.external_id}
    if "format" in row._fields:
        view.update(subscription_id=row.subscription_id, channel=row.format)
    return view


async def subscription_exists(session: AsyncSession, subscription_id: str) -> bool:
    s = tables.subscriptions
    return (await session.execute(select(s.c.id).where(s.c.id == subscription_id))).first() is not None


async def deliveries_of_subscription(session: AsyncSession, subscription_id: str, *, limit: int) -> list[Row[Any]]:
    """The target's deliveries, newest first."""
    d = tables.deliveries
    return list((await session.execute(select(d).where(d.c.subscription_id == subscription_id)
                                       .order_by(d.c.id.desc()).limit(limit))).all())


async def deliveries_of_lead(session: AsyncSession, lead_id: str, *, limit: int) -> list[Row[Any]]:
    """The lead's deliveries to every target, oldest first, each with its target's format (its channel)."""
    d, s = tables.deliveries, tables.subscriptions
    return list((await session.execute(
        select(d, s.c.format).outerjoin(s, s.c.id == d.c.subscription_id).where(d.c.lead_id == lead_id)
        .order_by(d.c.id).limit(limit))).all())
