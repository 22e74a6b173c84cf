"""The router application. ``create_app(settings)`` wires everything; nothing happens at import."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import Depends, FastAPI

from lead_router import tables
from lead_router.config_store import routing_documents
from lead_router.domain.config import InvalidDocument
from lead_router.handlers import make_handler
from lead_router.queue import drain_queues
from lead_router.routes import router as api_router
from lead_router.settings import RouterSettings
from shared import db, topics
from shared.clock import Clock, SystemClock
from shared.http import bearer_token_dependency, check, install_error_handlers, ops_router
from shared.kafka import EventConsumer, EventPublisher, ensure_topics
from shared.logging import get_logger
from shared.outbox import OutboxRelay
from shared.versioned import VersionedDocuments

log = get_logger(__name__)


class RoutingDocumentError(RuntimeError):
    """The routing document file cannot seed the router."""


async def seed_config(session_factory: Any, documents: VersionedDocuments[Any], settings: RouterSettings,
                      clock: Clock) -> None:
    """Store the routing document file as version 1 when the database has none yet."""
    path = settings.routing_config_path
    try:
        async with session_factory.begin() as session:
            outcome = await documents.seed(session, path, now=clock.now())
    except InvalidDocument as exc:
        raise RoutingDocumentError(f"The routing document {path} is invalid: {exc}") from None
    except FileNotFoundError:
        raise RoutingDocumentError(f"No routing document is stored and {path} does not exist; "
                                   "set ROUTING_CONFIG_PATH to a routing document.") from None
    if outcome == "seeded":
        log.info("router.config_seeded", path=path)
    elif outcome == "differs":
        log.warning("router.config_file_differs", path=path,
                    hint="the stored version stays active; PUT /v1/routing/config to change it")


async def _recheck_queues(session_factory: Any, documents: VersionedDocuments[Any], clock: Clock,
                          every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await drain_queues(session_factory, documents, clock.now())
        except Exception as exc:  # keep re-checking; the next round may succeed
            log.warning("router.queue_recheck_failed", error=type(exc).__name__)


def create_app(settings: RouterSettings, *, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()
    engine = db.create_engine(settings.router_database_url)
    session_factory = db.create_session_factory(engine)
    documents = routing_documents()
    publisher = EventPublisher(settings)
    relay = OutboxRelay(session_factory=session_factory, table=tables.outbox, publisher=publisher,
                        poll_interval=settings.outbox_poll_interval)
    consumer = EventConsumer(
        settings=settings, group_id="router",
        topics=[topics.LEADS_RECEIVED, topics.LEADS_ACTIVITY, topics.SLA_ALERTS],
        handler=make_handler(documents=documents, clock=clock), session_factory=session_factory,
        processed_events=tables.processed_events, publisher=publisher, after_commit=relay.notify,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await seed_config(session_factory, documents, settings, clock)
        await ensure_topics(settings, topics.ALL_TOPICS)
        await publisher.start()
        recheck = _recheck_queues(session_factory, documents, clock, settings.queue_recheck_seconds)
        tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run()), asyncio.create_task(recheck)]
        log.info("router.started", port=settings.router_port)
        try:
            yield
        finally:
            await consumer.stop()
            await relay.stop()
            tasks[2].cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=10)
            await publisher.stop()
            await engine.dispose()
            log.info("router.stopped")

    async def readiness() -> dict[str, str]:
        results: dict[str, str] = {}
        await check("database", lambda: db.ping(engine), results)
        await check("broker", publisher.ping, results)
        return results

    assert settings.admin_token is not None
    app = FastAPI(title="leadrouter router", version="1.0.0", lifespan=lifespan,
                  description="Assigns each lead to a team and a rep by data-driven rules, and explains why.")
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.documents = documents
    app.state.clock = clock
    app.state.consumer = consumer
    install_error_handlers(app)
    app.include_router(ops_router(readiness))
    app.include_router(api_router, dependencies=[Depends(bearer_token_dependency(settings.admin_token))])
    return app
