"""The intake FastAPI application. ``create_app(settings)`` wires everything; nothing happens at import."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from intake import lead_fetches, tables
from intake.activities import ActivitySubmission
from intake.deps import refuse_before_body, require_admin
from intake.group_commit import LeadCommitter
from intake.linking import CONSUMED_TOPICS, CONSUMER_GROUP, linked_handler
from intake.normalize import LeadSubmission
from intake.routes import activities, integrations, lead_ads, leads, sources, unmatched
from intake.settings import IntakeSettings
from intake.sources.accept import SourceSubmission, accept_source_lead, source_lead
from intake.sources.mapping import load_mapping
from shared import db
from shared.clock import SystemClock
from shared.dlq import dlq_router
from shared.http import guard, publish_schemas, service_app
from shared.kafka import EventConsumer, EventPublisher, ensure_topics
from shared.logging import get_logger
from shared.outbox import service_relay
from shared.retention import RetentionRule, outbox_and_inbox_rules, service_retention
from shared.topics import ALL_TOPICS
from shared.workers import Supervisor

log = get_logger(__name__)


def retention_rules(settings: IntakeSettings) -> list[RetentionRule]:
    keys = tables.idempotency_keys
    parked = tables.unmatched_activities
    fetches = tables.lead_fetches
    return [*outbox_and_inbox_rules(settings, outbox=tables.outbox, processed_events=tables.processed_events),
            RetentionRule("idempotency_keys", keys, keys.c.created_at,
                          timedelta(days=settings.idempotency_key_retention_days)),
            RetentionRule("unmatched_activities", parked, parked.c.received_at,
                          timedelta(days=settings.unmatched_activity_retention_days)),
            # Only fetches that are done: pending and failed ones are kept however old (the lead is not stored yet).
            RetentionRule("lead_fetches", fetches, fetches.c.updated_at,
                          timedelta(days=settings.lead_fetch_retention_days),
                          keep_if=lambda: fetches.c.state != lead_fetches.DONE)]


#: A CRM id learned (lead.linked) is not urgent: the consumer polls the broker 4 times a second, not 200.
LINKED_FETCH_WAIT_MS = 250


def create_app(settings: IntakeSettings) -> FastAPI:
    engine = db.create_engine(settings.intake_database_url, schema=settings.intake_database_schema)
    session_factory = db.create_session_factory(engine)
    publisher = EventPublisher(settings)
    relay = service_relay(settings, session_factory=session_factory, table=tables.outbox,
                          marks_table=tables.outbox_marks, publisher=publisher)
    retention = service_retention(settings, session_factory=session_factory, rules=retention_rules(settings))

    clock = SystemClock()

    async def accept_fetched(session: AsyncSession, submission: SourceSubmission,
                             lead_id: str | None) -> tuple[str | None, bool]:
        if submission.is_test:  # checked against the mapping (a refusal is kept as failed), not stored nor routed
            source_lead(submission, mapping=app.state.source_mapping, now=clock.now())
            return None, False
        return await accept_source_lead(session, submission, mapping=app.state.source_mapping, now=clock.now(),
                                        duplicate_lookback=timedelta(days=settings.duplicate_lookback_days),
                                        lead_id=lead_id)

    fetcher = lead_fetches.service_fetcher(settings, session_factory=session_factory, accept=accept_fetched,
                                           clock=clock, on_stored=relay.notify)

    consumer = EventConsumer(
        settings=settings, group_id=CONSUMER_GROUP, topics=CONSUMED_TOPICS, handler=linked_handler(),
        session_factory=session_factory, processed_events=tables.processed_events, publisher=publisher,
        after_commit=relay.notify, fetch_max_wait_ms=LINKED_FETCH_WAIT_MS)

    # Learning a CRM id (lead.linked) waits while the broker is away, and fetching announced leads while the
    # provider's API is (or the loop restarts); accepting leads and webhooks does not.
    supervisor = Supervisor({"outbox_relay": relay, "retention": retention, "linked_consumer": consumer,
                             "lead_fetches": fetcher},
                            optional=frozenset({"linked_consumer", "lead_fetches"}))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A mistake in config/sources.yaml stops the start with a message naming the key.
        app.state.source_mapping = load_mapping(settings.sources_config_path)
        # The broker may be away at start: intake still accepts leads and the relay publishes them later.
        topics_ready = asyncio.create_task(ensure_topics(settings, ALL_TOPICS, timeout=3600))
        supervisor.start()
        log.info("intake.started", port=settings.intake_port)
        try:
            yield
        finally:
            await supervisor.stop()
            topics_ready.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await topics_ready
            await publisher.stop()
            await engine.dispose()
            log.info("intake.stopped")

    # Ready = can accept and store: a broker outage only delays publishing (the outbox holds the events).
    app = service_app(title="leadrouter intake", lifespan=lifespan, engine=engine, publisher=publisher,
                      broker_required=False,
                      description="Accepts leads (web forms, badge scanners) and CRM activities.",
                      supervisor=supervisor, settings=settings, session_factory=session_factory, relay=relay,
                      lead_fetcher=fetcher, committer=LeadCommitter(
                          session_factory, clock=clock.now, after_commit=relay.notify,
                          duplicate_lookback=timedelta(days=settings.duplicate_lookback_days)))
    app.include_router(leads.router)
    app.include_router(activities.router)
    app.include_router(lead_ads.router)
    app.include_router(unmatched.router)
    app.include_router(integrations.router)
    app.include_router(sources.router)
    app.include_router(dlq_router(settings=settings, group=CONSUMER_GROUP, topics=CONSUMED_TOPICS,
                                  publisher=publisher), dependencies=[Depends(require_admin)],
                       responses={401: {"description": "The admin bearer token is missing or wrong."}})
    publish_schemas(app, LeadSubmission, ActivitySubmission)
    guard(app, refuse=refuse_before_body(settings), limit_for=body_limit(settings),
          throttle=settings.failed_attempts())
    return app


def body_limit(settings: IntakeSettings) -> Callable[[str], int]:
    """The body size limit of each path: batches and lead-source webhooks carry more than a single lead."""
    batch, source, single = (settings.intake_max_batch_bytes, settings.intake_max_source_bytes,
                             settings.intake_max_body_bytes)

    def limit_for(path: str) -> int:
        if path.endswith("/batch"):
            return batch
        if path.startswith("/v1/sources/"):
            return source
        return integrations.body_limit(path, single)

    return limit_for
