"""The intake FastAPI application. ``create_app(settings)`` wires everything; nothing happens at import."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from intake import tables
from intake.activities import ActivitySubmission
from intake.deps import refuse_before_body
from intake.normalize import LeadSubmission
from intake.routes import activities, leads
from intake.settings import IntakeSettings
from shared import db
from shared.http import guard, publish_schemas, service_app
from shared.kafka import EventPublisher, ensure_topics
from shared.logging import get_logger
from shared.outbox import OutboxRelay
from shared.topics import ALL_TOPICS
from shared.workers import Supervisor

log = get_logger(__name__)


def create_app(settings: IntakeSettings) -> FastAPI:
    engine = db.create_engine(settings.intake_database_url, schema=settings.intake_database_schema)
    session_factory = db.create_session_factory(engine)
    publisher = EventPublisher(settings)
    relay = OutboxRelay(session_factory=session_factory, table=tables.outbox, publisher=publisher,
                        poll_interval=settings.outbox_poll_interval)

    supervisor = Supervisor({"outbox_relay": relay})

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

    app = service_app(title="leadrouter intake", lifespan=lifespan, engine=engine, publisher=publisher,
                      description="Accepts leads (web forms, badge scanners) and CRM activities.",
                      supervisor=supervisor, settings=settings, session_factory=session_factory, relay=relay)
    app.include_router(leads.router)
    app.include_router(activities.router)
    publish_schemas(app, LeadSubmission, ActivitySubmission)
    batch_limit, body_limit = settings.intake_max_batch_bytes, settings.intake_max_body_bytes
    guard(app, refuse=refuse_before_body(settings),
          limit_for=lambda path: batch_limit if path.endswith("/batch") else body_limit)
    return app
