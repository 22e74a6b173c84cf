"""Durable lead fetches: leads that a provider's webhook announces by id only (Meta Lead Ads, LinkedIn Lead Sync)
are read from the provider's API after the webhook was answered.

Guarantees:
- A notice is stored (one ``lead_fetches`` row per provider and lead id) before the webhook gets its 200; a
  repeated webhook adds nothing. From then on the lead is not lost, whatever the provider's API does.
- ``LeadFetcher`` claims due rows in one short transaction (a lease of ``lease_seconds``; ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL, SQLite's write lock taken first), fetches outside any transaction, and completes each row
  in its own transaction together with the lead and its ``lead.received`` event, and only while its claim is still
  the row's. Several replicas never fetch one lead at the same time nor store it twice; a replica that dies
  mid-fetch leaves the row to whoever claims it when the lease ends. One slow or failing fetch never holds up
  the others, and no database connection is held while waiting on a provider.
- A provider that is down, slow or rate-limiting is retried with backoff, without limit (the attempt count, next
  attempt and the error class are kept on the row). A token that is invalid, expired or lacks a permission is
  kept as failed and retried on a slow schedule (``auth_retry_seconds``), and at once when the service starts
  again, with a new token. A lead the provider says cannot be read, or a lead the field mapping refuses (no email
  or phone), is kept as failed with the reason; the latter is retried once at the next start (a corrected
  mapping). Failures are logged without personal data, counted in ``leadrouter_intake_lead_fetches_total`` and
  shown in ``/readyz`` (degraded, still ready).
- A provider whose access token is unset is not fetched: its notices wait, and ``/readyz`` says which variable
  to set.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake import tables
from intake.metrics import LEAD_FETCHES, LEAD_FETCHES_OPEN
from intake.sources.accept import SourceLeadInvalid, SourceSubmission
from intake.sources.fetching import BadLead, FailureKind, FetchFailure, LeadNotice, LeadSourceAdapter
from shared.backoff import backoff_delay
from shared.clock import Clock, SystemClock
from shared.logging import get_logger, redact
from shared.workers import Worker

log = get_logger(__name__)

PENDING, FAILED, DONE = "pending", "failed", "done"
#: Kinds of failure retried when the service starts again: its token or its mapping may have been fixed.
RETRIED_AT_START = (FailureKind.AUTH.value, FailureKind.UNMAPPED.value)

#: Store a fetched lead (``accept_source_lead`` with the app's mapping); returns ``(lead_id, is_new)``, or
#: ``(None, False)`` for a provider's test lead, checked but not stored.
Accept = Callable[[AsyncSession, SourceSubmission], Awaitable[tuple[str | None, bool]]]


async def record_notices(session: AsyncSession, notices: Iterable[LeadNotice], *, now: datetime) -> int:
    """Store a pending fetch for each notice not seen before; return how many were new. The caller commits."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for notice in notices:
        rows.setdefault((notice.provider, notice.provider_lead_id), {
            "provider": notice.provider, "provider_lead_id": notice.provider_lead_id, "form_id": notice.form_id,
            "notice": dict(notice.details), "state": PENDING, "attempts": 0, "next_attempt_at": now,
            "received_at": now, "updated_at": now})
    if not rows:
        return 0
    insert: Any = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = await session.execute(insert(tables.lead_fetches).values(list(rows.values()))
                                   .on_conflict_do_nothing(index_elements=["provider", "provider_lead_id"]))
    return max(0, int(result.rowcount))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FetchSchedule:
    retry_base_seconds: float = 5.0
    retry_cap_seconds: float = 900.0
    auth_retry_seconds: float = 3600.0
    lease_seconds: float = 60.0
    timeout_seconds: float = 10.0
    #: Fetches running at once per worker (each claimed and completed on its own).
    batch_size: int = 20
    #: Longest sleep between looks for due rows (a webhook wakes the worker at once anyway).
    poll_seconds: float = 5.0
    #: How often the counts behind ``status`` and the open-fetches gauge are refreshed.
    status_seconds: float = 10.0


class _ClaimLost(Exception):
    """Another worker took the row over (our lease ran out): it completes the row, we do nothing."""


class LeadFetcher(Worker):
    """Fetch announced leads from their providers and store them (see the module's guarantees)."""

    name = "lead_fetches"

    def __init__(self, *, session_factory: async_sessionmaker[AsyncSession],
                 adapters: Mapping[str, LeadSourceAdapter], tokens: Mapping[str, str | None], accept: Accept,
                 schedule: FetchSchedule | None = None, clock: Clock | None = None,
                 on_stored: Callable[[], None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__()
        self._session_factory = session_factory
        self._adapters = dict(adapters)
        self._tokens = {provider: token for provider, token in tokens.items() if token}
        self._accept = accept
        self._schedule = schedule or FetchSchedule()
        self._clock = clock or SystemClock()
        self._on_stored = on_stored
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._started = False
        self._status_at: datetime | None = None
        self.status = "ok"

    def notices_stored(self) -> None:
        """A webhook stored new notices: fetch them now (and count them again for readiness)."""
        self._status_at = None
        self.wake()

    @property
    def _fetchable(self) -> list[str]:
        return sorted(p for p in self._adapters if p in self._tokens)

    async def run(self) -> None:
        timeout = httpx.Timeout(self._schedule.timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, transport=self._transport, follow_redirects=False) as http:
            self._http = http
            try:
                await super().run()
            finally:
                # A fetch cut short here is claimed again when its lease ends (its claim can no longer complete it).
                for task in list(self._in_flight):
                    task.cancel()
                await asyncio.gather(*self._in_flight, return_exceptions=True)
                self._http = None

    async def work(self) -> bool:
        if not self._started:
            await self._retry_after_start()
            self._started = True
        now = self._clock.now()
        if self._status_at is None or (now - self._status_at).total_seconds() >= self._schedule.status_seconds:
            await self.refresh_status()
        free = self._schedule.batch_size - len(self._in_flight)
        if free <= 0:
            return False  # a finishing fetch wakes the worker
        rows, claim_id = await self._claim(limit=free)
        for row in rows:
            # Each fetch runs on its own: a slow provider answer holds up no other fetch, nor the next claim.
            task = asyncio.create_task(self._fetch(row, claim_id), name=f"lead_fetch:{row.provider}")
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(rows) == free

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self.wake()

    async def idle_seconds(self) -> float:
        """Until the next row is due (or its claim runs out), within ``[0.05, poll_seconds]``."""
        poll = self._schedule.poll_seconds
        providers = self._fetchable
        if not providers or len(self._in_flight) >= self._schedule.batch_size:
            return poll  # nothing to fetch, or every slot busy: a finishing fetch wakes the worker
        table, now = tables.lead_fetches, self._clock.now()
        open_rows = and_(table.c.provider.in_(providers), table.c.state.in_([PENDING, FAILED]),
                         table.c.next_attempt_at.is_not(None))
        async with self._session_factory() as session:
            next_due = (await session.execute(select(func.min(table.c.next_attempt_at)).where(
                open_rows, or_(table.c.claimed_until.is_(None), table.c.claimed_until <= now)))).scalar()
            lease_ends = (await session.execute(select(func.min(table.c.claimed_until)).where(
                open_rows, table.c.claimed_until > now))).scalar()
        times = [t for t in (next_due, lease_ends) if t is not None]
        if not times:
            return poll
        return min(poll, max(0.05, (min(times) - now).total_seconds()))

    async def _retry_after_start(self) -> None:
        """Failures a restart may have fixed (a new token, a corrected mapping) are tried again now."""
        table, now = tables.lead_fetches, self._clock.now()
        async with self._session_factory.begin() as session:
            result = await session.execute(update(table).where(
                table.c.state == FAILED, table.c.failure_kind.in_(RETRIED_AT_START)).values(next_attempt_at=now))
        retried = int(result.rowcount)  # type: ignore[attr-defined]
        if retried:
            log.info("lead_fetch.retrying_failed_at_start", count=retried)

    async def refresh_status(self) -> None:
        """Count what is open per provider: readiness says what waits for a token and what failed."""
        table = tables.lead_fetches
        self._status_at = self._clock.now()
        async with self._session_factory() as session:
            counts = (await session.execute(
                select(table.c.provider, table.c.state, func.count())
                .where(table.c.state.in_([PENDING, FAILED])).group_by(table.c.provider, table.c.state))).all()
        by_key = {(provider, state): int(n) for provider, state, n in counts}
        notes = []
        for provider, adapter in sorted(self._adapters.items()):
            pending, failed = by_key.get((provider, PENDING), 0), by_key.get((provider, FAILED), 0)
            LEAD_FETCHES_OPEN.labels(provider=provider, state=PENDING).set(pending)
            LEAD_FETCHES_OPEN.labels(provider=provider, state=FAILED).set(failed)
            if provider not in self._tokens and pending + failed:
                notes.append(f"{pending + failed} {provider} lead(s) wait for {adapter.token_variable} to be set")
            elif failed:
                notes.append(f"{failed} {provider} lead fetch(es) failed (see lead_fetch.failed in the logs)")
        # The supervisor reports this loop as optional: anything but "ok" shows as "degraded: ..." (still ready).
        self.status = "; ".join(notes) if notes else "ok"

    async def _claim(self, *, limit: int) -> tuple[list[Any], str]:
        """Lease up to ``limit`` due rows in one short transaction; rows another worker holds are skipped."""
        claim_id = str(uuid.uuid4())
        providers = self._fetchable
        if not providers:
            return [], claim_id
        table, now = tables.lead_fetches, self._clock.now()
        async with self._session_factory.begin() as session:
            dialect = session.get_bind().dialect.name
            if dialect == "sqlite":
                # SQLite has no row locks: take its write lock first, so two processes on one file claim in turn.
                await session.execute(update(table).where(table.c.provider == "").values(attempts=0))
            due = (select(table.c.provider, table.c.provider_lead_id, table.c.form_id, table.c.notice,
                          table.c.attempts)
                   .where(table.c.provider.in_(providers), table.c.state.in_([PENDING, FAILED]),
                          table.c.next_attempt_at <= now,
                          or_(table.c.claimed_until.is_(None), table.c.claimed_until <= now))
                   .order_by(table.c.next_attempt_at).limit(limit))
            if dialect == "postgresql":
                due = due.with_for_update(skip_locked=True)
            rows = list((await session.execute(due)).all())
            for row in rows:
                await session.execute(update(table).where(_key(row)).values(
                    claimed_until=now + timedelta(seconds=self._schedule.lease_seconds), claim_id=claim_id))
        return rows, claim_id

    async def _fetch(self, row: Any, claim_id: str) -> None:
        """One lead: fetch, then store it or record why not. Never raises (one failure holds up no other)."""
        try:
            outcome = await self._read(row)
            await self._complete(row, claim_id, outcome)
        except _ClaimLost:
            log.info("lead_fetch.claim_lost", provider=row.provider, provider_lead_id=row.provider_lead_id)
        except Exception as exc:  # e.g. the database went away: the lease runs out and the row is claimed again
            log.warning("lead_fetch.not_completed", provider=row.provider, provider_lead_id=row.provider_lead_id,
                        error=type(exc).__name__)

    async def _read(self, row: Any) -> SourceSubmission | FetchFailure:
        adapter = self._adapters[row.provider]
        notice = LeadNotice(row.provider, row.provider_lead_id, row.form_id, row.notice or {})
        request = adapter.fetch_request(notice, token=self._tokens[row.provider])
        assert self._http is not None, "LeadFetcher.work() runs inside run()"
        try:
            # One deadline for the whole exchange (httpx's timeouts are per phase): the fetch ends within its lease.
            response = await asyncio.wait_for(
                self._http.get(request.url, params=dict(request.params) or None, headers=dict(request.headers)),
                timeout=self._schedule.timeout_seconds)
        except (httpx.HTTPError, TimeoutError) as exc:  # refused or reset connections, timeouts (may name the URL)
            return FetchFailure(FailureKind.TRANSIENT, f"{type(exc).__name__} calling the {row.provider} API")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not 200 <= response.status_code < 300:
            return adapter.failure(response.status_code, body)
        if body is None:
            return FetchFailure(FailureKind.TRANSIENT, f"HTTP {response.status_code} without a JSON body")
        try:
            return adapter.submission(notice, body)
        except BadLead as exc:
            return FetchFailure(FailureKind.INVALID, redact(f"Unexpected lead shape: {exc}")[:500])

    async def _complete(self, row: Any, claim_id: str, outcome: SourceSubmission | FetchFailure) -> None:
        table, now = tables.lead_fetches, self._clock.now()
        mine = and_(_key(row), table.c.claim_id == claim_id, table.c.state != DONE)
        attempts = int(row.attempts) + 1
        if isinstance(outcome, SourceSubmission):
            try:
                async with self._session_factory.begin() as session:
                    done = await session.execute(update(table).where(mine).values(
                        state=DONE, failure_kind=None, last_error=None, attempts=attempts, next_attempt_at=None,
                        claimed_until=None, claim_id=None, updated_at=now))
                    if done.rowcount != 1:  # type: ignore[attr-defined]
                        raise _ClaimLost()
                    lead_id, is_new = await self._accept(session, outcome)
                    await session.execute(update(table).where(_key(row)).values(lead_id=lead_id))
            except SourceLeadInvalid as exc:
                outcome = FetchFailure(FailureKind.UNMAPPED, _refusal(exc))
            else:
                outcome_name = "test_lead_not_stored" if lead_id is None else "stored" if is_new else "duplicate"
                LEAD_FETCHES.labels(provider=row.provider, outcome=outcome_name).inc()
                log.info(f"lead_fetch.{outcome_name}", provider=row.provider, provider_lead_id=row.provider_lead_id,
                         lead_id=lead_id, attempts=attempts)
                if is_new and self._on_stored is not None:
                    self._on_stored()
                return
        await self._record_failure(row, mine, outcome, attempts=attempts, now=now)

    async def _record_failure(self, row: Any, mine: Any, failure: FetchFailure, *, attempts: int,
                              now: datetime) -> None:
        schedule = self._schedule
        retry_in: float | None = None
        if failure.kind is FailureKind.TRANSIENT:
            retry_in = backoff_delay(attempts, base=schedule.retry_base_seconds, cap=schedule.retry_cap_seconds)
        elif failure.kind is FailureKind.AUTH:
            retry_in = schedule.auth_retry_seconds
        async with self._session_factory.begin() as session:
            result = await session.execute(update(tables.lead_fetches).where(mine).values(
                state=PENDING if failure.kind is FailureKind.TRANSIENT else FAILED,
                failure_kind=failure.kind.value, last_error=failure.reason[:500], attempts=attempts,
                next_attempt_at=None if retry_in is None else now + timedelta(seconds=retry_in),
                claimed_until=None, claim_id=None, updated_at=now))
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise _ClaimLost()
        LEAD_FETCHES.labels(provider=row.provider, outcome=failure.kind.value).inc()
        fields = {"provider": row.provider, "provider_lead_id": row.provider_lead_id, "kind": failure.kind.value,
                  "reason": failure.reason, "attempts": attempts,
                  "retry_in": None if retry_in is None else round(retry_in, 2)}
        if failure.kind is FailureKind.TRANSIENT:
            log.warning("lead_fetch.retrying", **fields)
        else:
            log.error("lead_fetch.failed", **fields)
            self._status_at = None  # readiness shows it at the next round


def _key(row: Any) -> Any:
    table = tables.lead_fetches
    return and_(table.c.provider == row.provider, table.c.provider_lead_id == row.provider_lead_id)


def _refusal(exc: SourceLeadInvalid) -> str:
    """The mapping's refusal as field names and messages (redacted: a message may quote a value)."""
    errors = getattr(exc, "errors", None) or []
    parts = [f"{e.get('field', '?')}: {e.get('message', 'is invalid')}" for e in errors if isinstance(e, dict)]
    return redact("The field mapping refused the lead: " + ("; ".join(parts) or type(exc).__name__))[:500]


def service_fetcher(settings: Any, *, session_factory: async_sessionmaker[AsyncSession], accept: Accept,
                    clock: Clock | None = None, on_stored: Callable[[], None] | None = None,
                    transport: httpx.AsyncBaseTransport | None = None) -> LeadFetcher:
    """The intake's fetcher for Meta Lead Ads and LinkedIn Lead Sync, configured from ``IntakeSettings``."""
    from intake.sources.linkedin import LinkedInLeadSync
    from intake.sources.meta import MetaLeadAds

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    adapters: dict[str, LeadSourceAdapter] = {
        "meta": MetaLeadAds(graph_url=settings.meta_graph_url, app_secret=secret(settings.meta_app_secret)),
        "linkedin": LinkedInLeadSync(api_url=settings.linkedin_api_url, api_version=settings.linkedin_api_version),
    }
    tokens = {"meta": secret(settings.meta_page_access_token), "linkedin": secret(settings.linkedin_access_token)}
    for provider, webhook_secret in (("meta", settings.meta_app_secret), ("linkedin", settings.linkedin_client_secret)):
        if secret(webhook_secret) and not tokens[provider]:
            log.warning("lead_fetch.token_missing", provider=provider, variable=adapters[provider].token_variable,
                        detail="Webhooks are accepted and their leads stored as pending fetches; they are fetched "
                               "once the token is set and the service restarted.")
    schedule = FetchSchedule(retry_base_seconds=settings.lead_fetch_retry_base_seconds,
                             retry_cap_seconds=settings.lead_fetch_retry_cap_seconds,
                             auth_retry_seconds=settings.lead_fetch_auth_retry_seconds,
                             lease_seconds=settings.lead_fetch_lease_seconds,
                             timeout_seconds=settings.lead_fetch_timeout_seconds)
    return LeadFetcher(session_factory=session_factory, adapters=adapters, tokens=tokens, accept=accept,
                       schedule=schedule, clock=clock, on_stored=on_stored, transport=transport)
