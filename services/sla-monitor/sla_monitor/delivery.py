"""The one durable delivery mechanism: a queue of deliveries per target, leased so that one instance sends
each, retried with exponential backoff and jitter, logged, and targets switched off after a run of failures.
Each target's deliveries go in rounds of their own: a slow or hanging target holds up only itself.

Every channel goes through it — webhooks (CloudEvents or Slack), HubSpot and Salesforce write-backs and
email (``sla_monitor.channels``). A target is a row of ``subscriptions``; its ``format`` names its channel.

One delivery cannot hold up or undo another: whatever goes wrong sending one becomes that delivery's failed
outcome (a channel that raises fails only its own batch), and each outcome is recorded even if recording
another fails. A CRM that answers the lead's id there gets it published as ``lead.linked`` in the same
transaction that records the delivery.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.backoff import backoff_delay
from shared.clock import Clock
from shared.events import CloudEvent, LeadLinked, SubscriptionDisabled
from shared.logging import get_logger
from shared.outbox import add_many_to_outbox, add_to_outbox
from shared.workers import Worker
from sla_monitor import tables
from sla_monitor.alerts import EVENT_SOURCE
from sla_monitor.channels.base import Channel, Outcome
from sla_monitor.channels.webhook import signature_headers
from sla_monitor.metrics import DELIVERIES, DELIVERY_DELAY
from sla_monitor.settings import SlaMonitorSettings

log = get_logger(__name__)

__all__ = ["DeliveryWorker", "Outcome", "retry_delay", "signature_headers"]


def retry_delay(attempts: int, *, first: float, cap: float, rng: random.Random | None = None) -> timedelta:
    """The project's backoff (``shared.backoff``): ``first``, 2×, 4×… up to ``cap`` seconds, ±20% jitter."""
    return timedelta(seconds=backoff_delay(attempts, base=first, cap=cap, rng=rng))


def _count(rows: Sequence[Row[Any]], subs: Mapping[str, Row[Any]], outcomes: Sequence[Outcome],
           now: datetime) -> None:
    for row, outcome in zip(rows, outcomes, strict=True):
        target = subs.get(row.subscription_id)
        channel = target.format if target is not None else "unknown"
        DELIVERIES.labels(outcome="delivered" if outcome.ok else "failed", channel=channel).inc()
        if outcome.ok:
            DELIVERY_DELAY.labels(channel=channel).observe(max(0.0, (now - row.created_at).total_seconds()))


def _chunks(rows: Sequence[Row[Any]], size: int) -> list[Sequence[Row[Any]]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


class DeliveryWorker(Worker):
    name = "sla.delivery"

    def __init__(self, *, session_factory: async_sessionmaker[AsyncSession], settings: SlaMonitorSettings,
                 clock: Clock, channels: Mapping[str, Channel], after_change: Any = None,
                 batch_size: int = 200) -> None:
        super().__init__()
        self._session_factory = session_factory
        self._settings = settings
        self._clock = clock
        self._channels = dict(channels)
        self._after_change = after_change
        self._batch_size = batch_size
        #: Targets with a round of deliveries in flight: their next due deliveries wait for it, nobody else does.
        self._busy: dict[str, asyncio.Task[None]] = {}

    async def work(self) -> bool:
        return await self.deliver_due(wait=False) > 0

    async def stop(self) -> None:
        """Stop claiming; give the rounds in flight a moment to record their outcomes (a round cut short stays
        leased and is sent again after the lease)."""
        await super().stop()
        if self._busy:
            _, pending = await asyncio.wait(list(self._busy.values()), timeout=5)
            for task in pending:
                task.cancel()

    def _lease_seconds(self) -> float:
        # Every send ends within its channel's deadline, so the lease outlasts the batch: no other instance (nor
        # this one) sends a claimed delivery again unless its outcome could not be recorded.
        return 2 * max([self._settings.webhook_timeout_seconds,
                        *(c.deadline_seconds for c in self._channels.values())]) + 5

    async def _claim(self) -> list[Row[Any]]:
        """Take due deliveries of targets not busy with an earlier round and lease them (push their next attempt
        out) so no other instance sends them."""
        now = self._clock.now()
        d = tables.deliveries
        lease = now + timedelta(seconds=self._lease_seconds())
        due = select(d).where(d.c.state == "pending", d.c.next_attempt_at <= now)
        if self._busy:
            due = due.where(d.c.subscription_id.not_in(list(self._busy)))
        async with self._session_factory.begin() as session:
            rows = (await session.execute(
                due.order_by(d.c.next_attempt_at, d.c.id).limit(self._batch_size)
                .with_for_update(skip_locked=True))).all()
            if rows:
                await session.execute(update(d).where(d.c.id.in_([r.id for r in rows])).values(next_attempt_at=lease))
        return list(rows)

    async def deliver_due(self, *, wait: bool = True) -> int:
        """Claim the due deliveries and send each once: every target in its own round (its channel's batches),
        recorded as soon as that round ends, so a slow target delays only its own next deliveries. With
        ``wait`` (tests, tools) return once every round is recorded; the worker does not wait. Returns how many
        deliveries were claimed."""
        rows = await self._claim()
        if not rows:
            return 0
        async with self._session_factory() as session:
            subs = {s.id: s for s in (await session.execute(select(tables.subscriptions).where(
                tables.subscriptions.c.id.in_({r.subscription_id for r in rows})))).all()}
        claimed = len(rows)
        rows = await self._set_aside_superseded(rows, subs)
        by_target: dict[str, list[Row[Any]]] = {}
        for row in rows:
            by_target.setdefault(row.subscription_id, []).append(row)
        rounds = []
        for target_id, target_rows in by_target.items():
            task = asyncio.create_task(self._round(target_rows, subs))
            self._busy[target_id] = task
            task.add_done_callback(functools.partial(self._round_done, target_id))
            rounds.append(task)
        if wait:
            await asyncio.gather(*rounds)
        return claimed

    def _round_done(self, target_id: str, task: asyncio.Task[None]) -> None:
        if self._busy.get(target_id) is task:
            del self._busy[target_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("sla.delivery_round_failed", target=target_id, error=type(task.exception()).__name__)
        self.wake()  # the target's next due deliveries may go now

    async def _round(self, rows: list[Row[Any]], subs: dict[str, Row[Any]]) -> None:
        """Send one target's claimed deliveries (its channel's batches, concurrently) and record the outcomes."""
        target = subs.get(rows[0].subscription_id)
        channel = self._channels.get(target.format) if target is not None else None
        batches = _chunks(rows, channel.batch_size if channel is not None else len(rows))
        results = await asyncio.gather(*(self._send_isolated(batch, target, channel) for batch in batches))
        sent = [row for batch in batches for row in batch]
        outcomes = [outcome for result in results for outcome in result]
        await self._record_all(sent, subs, outcomes)
        if self._after_change is not None:
            self._after_change()

    async def _set_aside_superseded(self, rows: list[Row[Any]], subs: dict[str, Row[Any]]) -> list[Row[Any]]:
        """Mark ``superseded`` each claimed delivery of a ``latest_only`` channel that has a newer delivery of the
        same lead to the same target (whatever that one's state); returns the rest, to be sent."""
        d = tables.deliveries
        latest_only = [r for r in rows if r.subscription_id in subs
                       and getattr(self._channels.get(subs[r.subscription_id].format), "latest_only", False)]
        if not latest_only:
            return rows
        async with self._session_factory() as session:
            newest = {(r.subscription_id, r.lead_id): r.newest for r in (await session.execute(
                select(d.c.subscription_id, d.c.lead_id, func.max(d.c.id).label("newest"))
                .where(d.c.subscription_id.in_({r.subscription_id for r in latest_only}),
                       d.c.lead_id.in_({r.lead_id for r in latest_only}))
                .group_by(d.c.subscription_id, d.c.lead_id))).all()}
        stale = [r for r in latest_only if newest.get((r.subscription_id, r.lead_id), r.id) > r.id]
        if not stale:
            return rows
        async with self._session_factory.begin() as session:
            await session.execute(update(d).where(d.c.id.in_([r.id for r in stale])).values(
                state="superseded", next_attempt_at=None, last_error="a later assignment's delivery replaces it"))
        stale_ids = {r.id for r in stale}
        return [r for r in rows if r.id not in stale_ids]

    async def _send_isolated(self, batch: Sequence[Row[Any]], target: Row[Any] | None,
                             channel: Channel | None) -> list[Outcome]:
        """The channel's outcomes, with anything it raises turned into failed outcomes of this batch only."""
        if target is None or not target.active:
            return [Outcome(False, None, "the subscription was deleted or disabled", permanent=True)] * len(batch)
        if channel is None:
            return [Outcome(False, None, f"no channel sends format {target.format!r} here (not configured)")
                    ] * len(batch)
        try:
            outcomes = await channel.send(batch, target)
        except Exception as exc:  # a bug or an odd stored row must not fail the other batches with it
            log.warning("sla.delivery_send_crashed", target=target.id, deliveries=len(batch),
                        error=type(exc).__name__)
            return [Outcome(False, None, f"Sending failed unexpectedly ({type(exc).__name__}).")] * len(batch)
        if len(outcomes) != len(batch):
            log.error("sla.delivery_channel_miscounted", target=target.id, sent=len(batch), outcomes=len(outcomes))
            return [Outcome(False, None, "the channel gave no outcome for this delivery")] * len(batch)
        return outcomes

    async def _record_all(self, rows: list[Row[Any]], subs: dict[str, Row[Any]], outcomes: list[Outcome]) -> None:
        """Record every outcome in one transaction; if that fails, each in its own, so one outcome that
        cannot be recorded leaves the others recorded (it stays leased and is sent again after the lease)."""
        try:
            async with self._session_factory.begin() as session:
                delivered = [(row, outcome) for row, outcome in zip(rows, outcomes, strict=True) if outcome.ok]
                await self._record_delivered(session, delivered, subs)
                for row, outcome in zip(rows, outcomes, strict=True):
                    if not outcome.ok:
                        await self._record(session, row, subs.get(row.subscription_id), outcome)
        except Exception as exc:
            log.warning("sla.delivery_batch_record_failed", deliveries=len(rows), error=type(exc).__name__)
        else:
            _count(rows, subs, outcomes, self._clock.now())
            return
        for row, outcome in zip(rows, outcomes, strict=True):
            try:
                async with self._session_factory.begin() as session:
                    await self._record(session, row, subs.get(row.subscription_id), outcome)
            except Exception as exc:
                log.error("sla.delivery_record_failed", delivery_id=row.id, error=type(exc).__name__)
            else:
                _count([row], subs, [outcome], self._clock.now())

    async def _record_delivered(self, session: AsyncSession, delivered: list[tuple[Row[Any], Outcome]],
                                subs: dict[str, Row[Any]]) -> None:
        """Record many successes with one statement (and one for their ``lead.linked`` events): under load most
        outcomes are successes, and a statement per delivery would make recording the slowest part."""
        if not delivered:
            return
        now = self._clock.now()
        d, s = tables.deliveries, tables.subscriptions
        await session.execute(
            update(d).where(d.c.id == bindparam("row_id")).values(
                state="delivered", attempts=bindparam("new_attempts"), last_status=bindparam("status"),
                last_error=None, delivered_at=now, next_attempt_at=None, external_id=bindparam("linked_id"))
            .execution_options(synchronize_session=False),
            [{"row_id": row.id, "new_attempts": row.attempts + 1, "status": outcome.status,
              "linked_id": outcome.linked[1] if outcome.linked else None} for row, outcome in delivered])
        await add_many_to_outbox(session, tables.outbox, [
            CloudEvent.wrap(LeadLinked(lead_id=row.lead_id, crm=outcome.linked[0], external_id=outcome.linked[1],
                                       linked_at=now), source=EVENT_SOURCE, time=now)
            for row, outcome in delivered if outcome.linked is not None])
        failing = {row.subscription_id for row, _ in delivered
                   if row.subscription_id in subs and subs[row.subscription_id].consecutive_failures}
        if failing:
            await session.execute(update(s).where(s.c.id.in_(failing)).values(consecutive_failures=0))

    async def _record(self, session: AsyncSession, row: Row[Any], subscription: Row[Any] | None,
                      outcome: Outcome) -> None:
        now = self._clock.now()
        d, s = tables.deliveries, tables.subscriptions
        if outcome.throttled:  # the target's rate limit, not this delivery's fault: try again when it says
            await session.execute(update(d).where(d.c.id == row.id).values(
                last_status=outcome.status, last_error=outcome.error,
                next_attempt_at=now + timedelta(seconds=outcome.retry_after or 1)))
            return
        attempts = row.attempts + 1
        if outcome.ok:
            await session.execute(update(d).where(d.c.id == row.id).values(
                state="delivered", attempts=attempts, last_status=outcome.status, last_error=None,
                delivered_at=now, next_attempt_at=None,
                external_id=outcome.linked[1] if outcome.linked else None))
            if outcome.linked is not None:
                crm, external_id = outcome.linked
                linked = LeadLinked(lead_id=row.lead_id, crm=crm, external_id=external_id, linked_at=now)
                await add_to_outbox(session, tables.outbox, CloudEvent.wrap(linked, source=EVENT_SOURCE, time=now))
            if subscription is not None and subscription.consecutive_failures:
                await session.execute(update(s).where(s.c.id == subscription.id).values(consecutive_failures=0))
            return
        exhausted = outcome.permanent or attempts >= self._settings.delivery_max_attempts
        delay = retry_delay(attempts, first=self._settings.delivery_first_retry_seconds,
                            cap=self._settings.delivery_max_retry_seconds)
        if outcome.retry_after is not None:
            delay = max(delay, timedelta(seconds=outcome.retry_after))
        await session.execute(update(d).where(d.c.id == row.id).values(
            state="failed" if exhausted else "pending", attempts=attempts, last_status=outcome.status,
            last_error=outcome.error, next_attempt_at=None if exhausted else now + delay))
        log.info("sla.delivery_failed", delivery_id=row.id, subscription_id=row.subscription_id, attempts=attempts,
                 final=exhausted, error=(outcome.error or "")[:200])
        if subscription is None or not subscription.active:
            return
        failures = (await session.execute(select(s.c.consecutive_failures).where(s.c.id == subscription.id))
                    ).scalar()
        if failures is None:  # deleted since it was read
            return
        failures += 1
        values: dict[str, Any] = {"consecutive_failures": failures}
        if failures >= self._settings.subscription_max_consecutive_failures:
            values.update(active=False, disabled_at=now)
            event = SubscriptionDisabled(lead_id=row.lead_id, subscription_id=subscription.id, url=subscription.url,
                                         consecutive_failures=failures)
            await add_to_outbox(session, tables.outbox, CloudEvent.wrap(event, source=EVENT_SOURCE, time=now))
            log.warning("sla.subscription_disabled", subscription_id=subscription.id, failures=failures)
        await session.execute(update(s).where(s.c.id == subscription.id, s.c.active.is_(True)).values(**values))
