"""The router application. ``create_app(settings)`` wires everything; nothing happens at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from lead_router import tables
from lead_router.backtest_routes import router as backtest_router
from lead_router.config_store import routing_documents
from lead_router.handlers import CONSUMED_TOPICS, CONSUMER_GROUP, make_handler
from lead_router.queue import drain_queues
from lead_router.routes import router as api_router
from lead_router.settings import RouterSettings
from shared import db, topics
from shared.clock import Clock, SystemClock
from shared.dlq import dlq_router
from shared.http import admin_gate, bearer_token_dependency, guard, service_app
from shared.kafka import EventConsumer, EventPublisher, ensure_topics
from shared.logging import get_logger
from shared.outbox import service_relay
from shared.retention import outbox_and_inbox_rules, service_retention
from shared.versioned import VersionedDocuments
from shared.workers import Supervisor, Worker

log = get_logger(__name__)


class QueueRecheck(Worker):
    """Gives queued leads another chance every ``every`` seconds (working hours start, a queue times out)."""

    name = "router.queue_recheck"

    def __init__(self, session_factory: Any, documents: VersionedDocuments[Any], clock: Clock,
                 every: float) -> None:
        super().__init__()
        self._session_factory = session_factory
        self._documents = documents
        self._clock = clock
        self._every = every

    async def work(self) -> bool:
        await drain_queues(self._session_factory, self._documents, self._clock.now())
        return False

    async def idle_seconds(self) -> float:
        return self._every


def create_app(settings: RouterSettings, *, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()
    engine = db.create_engine(settings.router_database_url, schema=settings.router_database_schema)
    session_factory = db.create_session_factory(engine)
    documents = routing_documents()
    publisher = EventPublisher(settings)
    relay = service_relay(settings, session_factory=session_factory, table=tables.outbox,
                          marks_table=tables.outbox_marks, publisher=publisher)
    retention = service_retention(settings, session_factory=session_factory, clock=clock, rules=outbox_and_inbox_rules(
        settings, outbox=tables.outbox, processed_events=tables.processed_events))
    queue_recheck = QueueRecheck(session_factory, documents, clock, settings.queue_recheck_seconds)
    consumer = EventConsumer(
        settings=settings, group_id=CONSUMER_GROUP, topics=CONSUMED_TOPICS,
        handler=make_handler(documents=documents, clock=clock), session_factory=session_factory,
        processed_events=tables.processed_events, publisher=publisher, after_commit=relay.notify,
    )

    supervisor = Supervisor({"outbox_relay": relay, "consumer": consumer, "queue_recheck": queue_recheck,
                             "retention": retention})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await documents.seed_from_file(session_factory, settings.routing_config_path, what="routing document",
                                       setting="ROUTING_CONFIG_PATH", now=clock.now())
        await ensure_topics(settings, topics.ALL_TOPICS)
        await publisher.start()
        supervisor.start()
        log.info("router.started", port=settings.router_port)
        try:
            yield
        finally:
            await supervisor.stop()
            await publisher.stop()
            await engine.dispose()
            log.info("router.stopped")

    assert settings.admin_token is not None
    app = service_app(title="leadrouter router", lifespan=lifespan, engine=engine, publisher=publisher,
                      description="Assigns each lead to a team and a rep by data-driven rules, and explains why.",
                      supervisor=supervisor, settings=settings, session_factory=session_factory, documents=documents,
                      clock=clock, consumer=consumer)
    admin = [Depends(bearer_token_dependency(settings.admin_tokens))]
    app.include_router(api_router, dependencies=admin)
    app.include_router(backtest_router, dependencies=admin)
    app.include_router(dlq_router(settings=settings, group=CONSUMER_GROUP, topics=CONSUMED_TOPICS,
                                  publisher=publisher), dependencies=admin)
    body_limit, document_limit = settings.http_max_body_bytes, settings.http_max_document_bytes
    guard(app, refuse=admin_gate(settings.admin_tokens), throttle=settings.failed_attempts(),
          limit_for=lambda path: document_limit if path in DOCUMENT_PATHS else body_limit)
    return app


#: The routes that take a whole routing document, with its larger body limit.
DOCUMENT_PATHS = frozenset({"/v1/routing/config", "/v1/routing/validate", "/v1/routing/backtest"})
