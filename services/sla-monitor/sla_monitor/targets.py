"""Built-in delivery targets: the CRM write-backs and the rep's email, configured by the environment.

Each is a row of ``subscriptions`` with a fixed id and its channel as ``format``, taking ``lead.assigned``, so
it shares everything webhooks have: the durable queue, retries with backoff, the delivery log
(``GET /v1/subscriptions/{id}/deliveries``, ``GET /v1/leads/{lead_id}/deliveries``) and being switched off after
``SUBSCRIPTION_MAX_CONSECUTIVE_FAILURES`` failures in a row. At start each configured one is (re)enabled —
restarting after fixing a token is how one is switched back on — and each no longer configured is disabled.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events import LeadAssigned
from shared.logging import get_logger
from sla_monitor import tables

log = get_logger(__name__)

#: Formats of built-in targets; webhooks subscribed through the API are ``cloudevents`` or ``slack``.
BUILTIN_FORMATS = ("hubspot", "salesforce", "email")


@dataclass(frozen=True)
class BuiltinTarget:
    format: str
    #: Where it sends, as shown in the subscription list (never a credential).
    url: str

    @property
    def id(self) -> str:
        return builtin_id(self.format)


def builtin_id(format: str) -> str:
    return f"builtin-{format}"


async def sync_builtin_targets(session_factory: async_sessionmaker[AsyncSession], configured: list[BuiltinTarget],
                               *, now: datetime) -> None:
    """Make the built-in rows match the environment: configured ones active, the others inactive."""
    s = tables.subscriptions
    wanted = {t.id: t for t in configured}
    async with session_factory.begin() as session:
        existing = {r.id: r for r in (await session.execute(
            select(s).where(s.c.id.in_([builtin_id(f) for f in BUILTIN_FORMATS])).with_for_update())).all()}
        for target in configured:
            values = {"url": target.url, "format": target.format, "events": [LeadAssigned.event_type],
                      "active": True, "consecutive_failures": 0, "disabled_at": None}
            if target.id in existing:
                await session.execute(update(s).where(s.c.id == target.id).values(**values))
            else:
                await session.execute(insert(s).values(id=target.id, filter={}, created_at=now,
                                                       secret=f"unused_{secrets.token_hex(16)}", **values))
        for target_id, row in existing.items():
            if target_id not in wanted and row.active:
                await session.execute(update(s).where(s.c.id == target_id).values(active=False, disabled_at=now))
                log.info("sla.builtin_target_disabled", target=target_id, reason="no longer configured")
    if configured:
        log.info("sla.builtin_targets", targets=sorted(wanted))
