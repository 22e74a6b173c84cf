"""The delivery log: read per target (a webhook subscription or a built-in CRM/email target), per lead or all
together, and a delivery put back in the queue to be sent again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
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


async def recent_deliveries(session: AsyncSession, *, state: str | None, channel: str | None,
                            limit: int) -> list[Row[Any]]:
    """Deliveries to every target, newest first, each with its target's format (its channel)."""
    d, s = tables.deliveries, tables.subscriptions
    query = select(d, s.c.format).outerjoin(s, s.c.id == d.c.subscription_id)
    if state is not None:
        query = query.where(d.c.state == state)
    if channel is not None:
        query = query.where(s.c.format == channel)
    return list((await session.execute(query.order_by(d.c.id.desc()).limit(limit))).all())


async def failed_first(session: AsyncSession, *, limit: int) -> list[Row[Any]]:
    """The failed deliveries (newest first), then the others (newest first): what the plumbing page lists."""
    failed = await recent_deliveries(session, state="failed", channel=None, limit=limit)
    d, s = tables.deliveries, tables.subscriptions
    others = list((await session.execute(
        select(d, s.c.format).outerjoin(s, s.c.id == d.c.subscription_id).where(d.c.state != "failed")
        .order_by(d.c.id.desc()).limit(max(0, limit - len(failed))))).all())
    return failed + others


class ResendRefused(Exception):
    """The delivery cannot be sent again; ``str()`` says why, ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def resend(session: AsyncSession, delivery_id: int, *, now: datetime) -> None:
    """Put a delivered or failed delivery back in the queue, due now and with its attempts reset (the same
    event id, so a receiver that saw it before drops the repeat). Raises :class:`ResendRefused` for an unknown
    delivery (404), one already waiting to be sent, a superseded CRM write-back, or one whose target was
    deleted or disabled (409). Call within a transaction."""
    d, s = tables.deliveries, tables.subscriptions
    row = (await session.execute(select(d, s.c.format, s.c.active).outerjoin(s, s.c.id == d.c.subscription_id)
                                 .where(d.c.id == delivery_id).with_for_update(of=d))).first()
    if row is None:
        raise ResendRefused(404, f"No delivery {delivery_id}.")
    if row.state == "pending":
        raise ResendRefused(409, f"Delivery {delivery_id} is already waiting to be sent (attempt "
                                 f"{row.attempts + 1} is due {_iso(row.next_attempt_at)}).")
    if row.state == "superseded":
        raise ResendRefused(409, f"Delivery {delivery_id} was superseded by a later assignment's write-back; "
                                 "sending it again would overwrite the newer one.")
    if row.format is None or not row.active:
        raise ResendRefused(409, f"The target of delivery {delivery_id} was deleted or disabled; "
                                 "subscribe it again first.")
    await session.execute(update(d).where(d.c.id == delivery_id).values(
        state="pending", attempts=0, next_attempt_at=now, delivered_at=None))


async def delivery_with_channel(session: AsyncSession, delivery_id: int) -> Row[Any] | None:
    d, s = tables.deliveries, tables.subscriptions
    return (await session.execute(select(d, s.c.format).outerjoin(s, s.c.id == d.c.subscription_id)
                                  .where(d.c.id == delivery_id))).first()
