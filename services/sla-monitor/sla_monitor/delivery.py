"""Webhook delivery: Standard Webhooks signatures, retries with exponential backoff and jitter, a delivery
log, and subscriptions switched off after a run of failures.

One delivery cannot hold up or undo another: whatever goes wrong sending one (a URL that cannot be parsed,
a receiver that trickles its answer or sends an endless one) becomes that delivery's failed outcome, and
each outcome is recorded even if recording another fails. Every request has a total deadline and only the
first few KiB of an answer are read.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from shared.backoff import backoff_delay
from shared.clock import Clock
from shared.events import CloudEvent, SubscriptionDisabled
from shared.logging import get_logger
from shared.outbox import add_to_outbox
from shared.workers import Worker
from sla_monitor import tables
from sla_monitor.alerts import EVENT_SOURCE
from sla_monitor.metrics import DELIVERIES
from sla_monitor.settings import SlaMonitorSettings
from sla_monitor.ssrf import UnsafeTarget
from sla_monitor.subscription_secrets import signing_secrets
from sla_monitor.webhook_url import InvalidWebhookUrl, parse_webhook_url

log = get_logger(__name__)


def signature_headers(secret: str, *more_secrets: str, message_id: str, body: str,
                      now: datetime) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` per the Standard Webhooks spec; with
    several secrets (during a rotation) the signature header carries one signature per secret."""
    signatures = [Webhook(s).sign(msg_id=message_id, timestamp=now, data=body) for s in (secret, *more_secrets)]
    return {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(signatures), "content-type": "application/json"}


def retry_delay(attempts: int, *, first: float, cap: float, rng: random.Random | None = None) -> timedelta:
    """The project's backoff (``shared.backoff``): ``first``, 2×, 4×… up to ``cap`` seconds, ±20% jitter."""
    return timedelta(seconds=backoff_delay(attempts, base=first, cap=cap, rng=rng))


async def read_at_most(response: httpx.Response, limit: int) -> int:
    """Read the raw (still compressed, if it is) answer until its end or ``limit`` bytes; returns the count."""
    seen = 0
    async for chunk in response.aiter_raw():
        seen += len(chunk)
        if seen >= limit:
            break
    return seen


def _count(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        DELIVERIES.labels(outcome="delivered" if outcome.ok else "failed").inc()


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None
    permanent: bool = False


class DeliveryWorker(Worker):
    name = "sla.delivery"

    def __init__(self, *, session_factory: async_sessionmaker[AsyncSession], settings: SlaMonitorSettings,
                 clock: Clock, http: httpx.AsyncClient, after_change: Any = None, batch_size: int = 50) -> None:
        super().__init__()
        self._session_factory = session_factory
        self._settings = settings
        self._clock = clock
        self._http = http
        self._after_change = after_change
        self._batch_size = batch_size

    async def work(self) -> bool:
        return await self.deliver_due() > 0

    async def _claim(self) -> list[Row[Any]]:
        """Take due deliveries and lease them (push their next attempt out) so no other instance sends them."""
        now = self._clock.now()
        d = tables.deliveries
        # Every send ends within the total deadline, so the lease outlasts the batch: no other instance (nor
        # this one) sends a claimed delivery again unless its outcome could not be recorded.
        lease = now + timedelta(seconds=2 * self._settings.webhook_timeout_seconds + 5)
        async with self._session_factory.begin() as session:
            rows = (await session.execute(
                select(d).where(d.c.state == "pending", d.c.next_attempt_at <= now)
                .order_by(d.c.next_attempt_at).limit(self._batch_size).with_for_update(skip_locked=True))).all()
            if rows:
                await session.execute(update(d).where(d.c.id.in_([r.id for r in rows])).values(next_attempt_at=lease))
        return list(rows)

    async def deliver_due(self) -> int:
        """Send each due delivery once (concurrently) and record each outcome; returns how many were due."""
        rows = await self._claim()
        if not rows:
            return 0
        async with self._session_factory() as session:
            subs = {s.id: s for s in (await session.execute(select(tables.subscriptions).where(
                tables.subscriptions.c.id.in_({r.subscription_id for r in rows})))).all()}
        outcomes = await asyncio.gather(*(self._send_isolated(row, subs.get(row.subscription_id)) for row in rows))
        await self._record_all(rows, subs, outcomes)
        if self._after_change is not None:
            self._after_change()
        return len(rows)

    async def _send_isolated(self, row: Row[Any], subscription: Row[Any] | None) -> Outcome:
        """``_send``, with anything it raises turned into this delivery's failed outcome."""
        try:
            return await self._send(row, subscription)
        except Exception as exc:  # a bug or an odd stored row must not fail the batch with it
            log.warning("sla.delivery_send_crashed", delivery_id=row.id, error=type(exc).__name__)
            return Outcome(False, None, f"Sending failed unexpectedly ({type(exc).__name__}).")

    async def _send(self, row: Row[Any], subscription: Row[Any] | None) -> Outcome:
        if subscription is None or not subscription.active:
            return Outcome(False, None, "the subscription was deleted or disabled", permanent=True)
        try:
            url = parse_webhook_url(subscription.url)  # stored before URLs were validated, it may not parse
        except InvalidWebhookUrl as exc:
            return Outcome(False, None, str(exc), permanent=True)
        now = self._clock.now()
        secrets = signing_secrets(subscription.secret, subscription.previous_secret,
                                  subscription.previous_secret_expires_at, now=now)
        headers = signature_headers(*secrets, message_id=row.event_id, body=row.payload, now=now)
        return await self._post(url, row.payload.encode(), headers)

    async def _post(self, url: httpx.URL, body: bytes, headers: dict[str, str]) -> Outcome:
        """POST within the total deadline; the status decides, and only the first few KiB of the answer
        are read (enough to reuse the connection after a short answer, never an endless one)."""
        deadline = self._settings.webhook_timeout_seconds
        status: int | None = None
        try:
            async with asyncio.timeout(deadline), self._http.stream(
                    "POST", url, content=body, headers=headers, timeout=deadline) as response:
                status = response.status_code
                await read_at_most(response, self._settings.webhook_max_response_bytes)
        except UnsafeTarget as exc:  # raised by the transport on connect: see sla_monitor.ssrf
            return Outcome(False, None, str(exc), permanent=True)
        except (TimeoutError, httpx.HTTPError) as exc:
            if status is None:  # no answer; once the status is in, the rest of the answer does not matter
                if isinstance(exc, TimeoutError):
                    return Outcome(False, None, f"no answer within the {deadline:g}s deadline")
                return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= status < 300:
            return Outcome(True, status, None)
        return Outcome(False, status, f"answered {status}")

    async def _record_all(self, rows: list[Row[Any]], subs: dict[str, Row[Any]], outcomes: list[Outcome]) -> None:
        """Record every outcome in one transaction; if that fails, each in its own, so one outcome that
        cannot be recorded leaves the others recorded (it stays leased and is sent again after the lease)."""
        try:
            async with self._session_factory.begin() as session:
                for row, outcome in zip(rows, outcomes, strict=True):
                    await self._record(session, row, subs.get(row.subscription_id), outcome)
        except Exception as exc:
            log.warning("sla.delivery_batch_record_failed", deliveries=len(rows), error=type(exc).__name__)
        else:
            _count(outcomes)
            return
        for row, outcome in zip(rows, outcomes, strict=True):
            try:
                async with self._session_factory.begin() as session:
                    await self._record(session, row, subs.get(row.subscription_id), outcome)
            except Exception as exc:
                log.error("sla.delivery_record_failed", delivery_id=row.id, error=type(exc).__name__)
            else:
                _count([outcome])

    async def _record(self, session: AsyncSession, row: Row[Any], subscription: Row[Any] | None,
                      outcome: Outcome) -> None:
        now = self._clock.now()
        d, s = tables.deliveries, tables.subscriptions
        attempts = row.attempts + 1
        if outcome.ok:
            await session.execute(update(d).where(d.c.id == row.id).values(
                state="delivered", attempts=attempts, last_status=outcome.status, last_error=None,
                delivered_at=now, next_attempt_at=None))
            if subscription is not None and subscription.consecutive_failures:
                await session.execute(update(s).where(s.c.id == subscription.id).values(consecutive_failures=0))
            return
        exhausted = outcome.permanent or attempts >= self._settings.delivery_max_attempts
        next_at = None if exhausted else now + retry_delay(
            attempts, first=self._settings.delivery_first_retry_seconds, cap=self._settings.delivery_max_retry_seconds)
        await session.execute(update(d).where(d.c.id == row.id).values(
            state="failed" if exhausted else "pending", attempts=attempts, last_status=outcome.status,
            last_error=outcome.error, next_attempt_at=next_at))
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
