"""The intake FastAPI application. ``create_app(settings)`` wires everything; nothing happens at import."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from fastapi import Depends, FastAPI

from intake import tables
from intake.activities import ActivitySubmission
from intake.crm import hubspot
from intake.deps import refuse_before_body, require_admin
from intake.linking import CONSUMED_TOPICS, CONSUMER_GROUP, linked_handler
from intake.normalize import LeadSubmission
from intake.routes import activities, integrations, leads, unmatched
from intake.settings import IntakeSettings
from shared import db
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
    return [*outbox_and_inbox_rules(settings, outbox=tables.outbox, processed_events=tables.processed_events),
            RetentionRule("idempotency_keys", keys, keys.c.created_at,
                          timedelta(days=settings.idempotency_key_retention_days)),
            RetentionRule("unmatched_activities", parked, parked.c.received_at,
                          timedelta(days=settings.unmatched_activity_retention_days))]


def create_app(settings: IntakeSettings) -> FastAPI:
    engine = db.create_engine(settings.intake_database_url, schema=settings.intake_database_schema)
    session_factory = db.create_session_factory(engine)
    publisher = EventPublisher(settings)
    relay = service_relay(settings, session_factory=session_factory, table=tables.outbox,
                          marks_table=tables.outbox_marks, publisher=publisher)
    retention = service_retention(settings, session_factory=session_factory, rules=retention_rules(settings))

    consumer = EventConsumer(
        settings=settings, group_id=CONSUMER_GROUP, topics=CONSUMED_TOPICS, handler=linked_handler(),
        session_factory=session_factory, processed_events=tables.processed_events, publisher=publisher,
        after_commit=relay.notify)

    # Learning a CRM id (lead.linked) waits while the broker is away; accepting leads does not.
    supervisor = Supervisor({"outbox_relay": relay, "retention": retention, "linked_consumer": consumer},
                            optional=frozenset({"linked_consumer"}))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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
                      supervisor=supervisor, settings=settings, session_factory=session_factory, relay=relay)
    app.include_router(leads.router)
    app.include_router(activities.router)
    app.include_router(unmatched.router)
    app.include_router(integrations.router)
    app.include_router(dlq_router(settings=settings, group=CONSUMER_GROUP, topics=CONSUMED_TOPICS,
                                  publisher=publisher), dependencies=[Depends(require_admin)],
                       responses={401: {"description": "The admin bearer token is missing or wrong."}})
    publish_schemas(app, LeadSubmission, ActivitySubmission)
    batch_limit, body_limit = settings.intake_max_batch_bytes, settings.intake_max_body_bytes

    def limit_for(path: str) -> int:
        if path == "/v1/integrations/hubspot":
            return hubspot.MAX_BODY_BYTES
        return batch_limit if path.endswith("/batch") else body_limit

    guard(app, refuse=refuse_before_body(settings), limit_for=limit_for)
    return app
