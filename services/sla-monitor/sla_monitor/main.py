"""The SLA monitor application. ``create_app(settings)`` wires everything; nothing happens at import."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Protocol

import httpx
from fastapi import Depends, FastAPI

from shared import db, topics
from shared.clock import Clock, SystemClock
from shared.http import bearer_token_dependency, check, install_error_handlers, ops_router
from shared.kafka import EventConsumer, EventPublisher, ensure_topics
from shared.logging import get_logger
from shared.outbox import OutboxRelay
from shared.versioned import VersionedDocuments
from sla_monitor import tables
from sla_monitor.delivery import DeliveryWorker
from sla_monitor.domain.policies import InvalidPolicies, PolicySet, parse_policies
from sla_monitor.handlers import make_handler
from sla_monitor.metrics import OWNED_PARTITIONS
from sla_monitor.routes import router as api_router
from sla_monitor.settings import SlaMonitorSettings
from sla_monitor.ticker import Ticker

log = get_logger(__name__)


class Worker(Protocol):
    async def run(self) -> None: ...

    async def stop(self) -> None: ...


class PolicyDocumentError(RuntimeError):
    """The SLA policy file cannot seed the monitor."""


def policy_documents() -> VersionedDocuments[PolicySet]:
    return VersionedDocuments(tables.policy_versions, parse_policies)


def create_app(settings: SlaMonitorSettings, *, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()
    engine = db.create_engine(settings.sla_monitor_database_url)
    session_factory = db.create_session_factory(engine)
    policies = policy_documents()
    publisher = EventPublisher(settings)
    relay = OutboxRelay(session_factory=session_factory, table=tables.outbox, publisher=publisher,
                        poll_interval=settings.outbox_poll_interval)
    http = httpx.AsyncClient(follow_redirects=False)
    delivery = DeliveryWorker(session_factory=session_factory, settings=settings, clock=clock, http=http,
                              after_change=relay.notify)

    def after_fire() -> None:
        relay.notify()
        delivery.wake()

    consumer: EventConsumer

    def owned() -> frozenset[int]:
        return consumer.assigned_partitions

    ticker = Ticker(session_factory=session_factory, clock=clock, partitions=owned, after_fire=after_fire,
                    max_sleep=settings.ticker_max_sleep_seconds)

    def after_commit() -> None:
        after_fire()
        ticker.wake()

    def on_assignment(partitions: frozenset[int]) -> None:
        OWNED_PARTITIONS.set(len(partitions))
        log.info("sla.partitions_owned", partitions=sorted(partitions))
        ticker.wake()

    consumer = EventConsumer(
        settings=settings, group_id="sla-monitor", topics=[topics.LEADS_ASSIGNED, topics.LEADS_ACTIVITY],
        handler=make_handler(policies=policies, clock=clock), session_factory=session_factory,
        processed_events=tables.processed_events, publisher=publisher, after_commit=after_commit,
        on_assignment=on_assignment,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        path = settings.sla_policies_path
        try:
            async with session_factory.begin() as session:
                outcome = await policies.seed(session, path, now=clock.now())
        except InvalidPolicies as exc:
            raise PolicyDocumentError(f"The SLA policies in {path} are invalid: {exc}") from None
        except FileNotFoundError:
            raise PolicyDocumentError(f"No SLA policies are stored and {path} does not exist; "
                                      "set SLA_POLICIES_PATH to a policy document.") from None
        if outcome == "differs":
            log.warning("sla.policy_file_differs", path=path, hint="PUT /v1/sla/policies to change the stored ones")
        await ensure_topics(settings, topics.ALL_TOPICS)
        await publisher.start()
        workers: list[Worker] = [relay, consumer, ticker, delivery]
        tasks = [asyncio.create_task(worker.run()) for worker in workers]
        log.info("sla.started", port=settings.sla_monitor_port)
        try:
            yield
        finally:
            for worker in workers:
                await worker.stop()
            for task in tasks:
                with suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=10)
            await http.aclose()
            await publisher.stop()
            await engine.dispose()
            log.info("sla.stopped")

    async def readiness() -> dict[str, str]:
        results: dict[str, str] = {}
        await check("database", lambda: db.ping(engine), results)
        await check("broker", publisher.ping, results)
        return results

    assert settings.admin_token is not None
    app = FastAPI(title="leadrouter sla-monitor", version="1.0.0", lifespan=lifespan,
                  description="Response clocks per assignment, SLA alerts, escalation and speed-to-lead reports.")
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.policies = policies
    app.state.clock = clock
    app.state.ticker = ticker
    app.state.consumer = consumer
    install_error_handlers(app)
    app.include_router(ops_router(readiness))
    app.include_router(api_router, dependencies=[Depends(bearer_token_dependency(settings.admin_token))])
    return app
