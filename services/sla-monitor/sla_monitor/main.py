"""The SLA monitor application. ``create_app(settings)`` wires everything; nothing happens at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi import Depends, FastAPI
from sqlalchemy import exists

from shared import db, topics
from shared.clock import Clock, SystemClock
from shared.dlq import dlq_router
from shared.http import admin_gate, bearer_token_dependency, guard, service_app
from shared.kafka import EventConsumer, EventPublisher, ensure_topics
from shared.logging import get_logger
from shared.outbox import service_relay
from shared.retention import RetentionRule, outbox_and_inbox_rules, service_retention
from shared.versioned import VersionedDocuments
from shared.workers import Supervisor
from sla_monitor import tables
from sla_monitor.board_watch import BoardWatch
from sla_monitor.channels.base import Channel
from sla_monitor.channels.email import EmailChannel
from sla_monitor.channels.hubspot import HubSpotChannel
from sla_monitor.channels.salesforce import SalesforceChannel
from sla_monitor.channels.webhook import WebhookChannel
from sla_monitor.console import install_console
from sla_monitor.console.upstream import Upstream
from sla_monitor.delivery import DeliveryWorker
from sla_monitor.delivery_routes import router as delivery_router
from sla_monitor.domain.policies import PolicySet, parse_policies
from sla_monitor.event_stream import router as event_stream_router
from sla_monitor.event_tail import EventTail
from sla_monitor.handlers import CONSUMED_TOPICS, CONSUMER_GROUP, make_handler
from sla_monitor.live import LiveFeed, close_on_exit_signal
from sla_monitor.metrics import OWNED_PARTITIONS
from sla_monitor.prediction_routes import router as prediction_router
from sla_monitor.routes import router as api_router
from sla_monitor.settings import SlaMonitorSettings
from sla_monitor.ssrf import WebhookTransport
from sla_monitor.targets import BuiltinTarget, sync_builtin_targets
from sla_monitor.ticker import Ticker

log = get_logger(__name__)


def policy_documents() -> VersionedDocuments[PolicySet]:
    return VersionedDocuments(tables.policy_versions, parse_policies)


def retention_rules(settings: SlaMonitorSettings) -> list[RetentionRule]:
    touches, clocks, deliveries = tables.touches, tables.clocks, tables.deliveries

    def clock_still_running() -> Any:  # its touches still decide whether it is met
        return exists().where(clocks.c.lead_id == touches.c.lead_id, clocks.c.state == "running")

    return [*outbox_and_inbox_rules(settings, outbox=tables.outbox, processed_events=tables.processed_events),
            RetentionRule("touches", touches, touches.c.occurred_at, timedelta(days=settings.touch_retention_days),
                          keep_if=clock_still_running),
            RetentionRule("deliveries", deliveries, deliveries.c.created_at,
                          timedelta(days=settings.delivery_retention_days),
                          keep_if=lambda: deliveries.c.state == "pending"),
            RetentionRule("lead_links", tables.lead_links, tables.lead_links.c.linked_at,
                          timedelta(days=settings.delivery_retention_days))]


def delivery_channels(settings: SlaMonitorSettings, *, clock: Clock, http: httpx.AsyncClient,
                      crm_http: httpx.AsyncClient) -> tuple[dict[str, Channel], list[BuiltinTarget]]:
    """The channel of every target format, and the built-in targets the environment configures."""
    webhook = WebhookChannel(settings=settings, clock=clock, http=http)
    channels: dict[str, Channel] = {"cloudevents": webhook, "slack": webhook}
    builtin: list[BuiltinTarget] = []
    if settings.hubspot_access_token is not None:
        channels["hubspot"] = HubSpotChannel(http=crm_http, api_url=settings.hubspot_api_url,
                                             access_token=settings.hubspot_access_token.get_secret_value(),
                                             timeout=settings.crm_timeout_seconds)
        builtin.append(BuiltinTarget("hubspot", settings.hubspot_api_url))
    if settings.salesforce_instance_url and settings.salesforce_client_id and settings.salesforce_client_secret:
        channels["salesforce"] = SalesforceChannel(
            http=crm_http, instance_url=settings.salesforce_instance_url, client_id=settings.salesforce_client_id,
            client_secret=settings.salesforce_client_secret.get_secret_value(),
            api_version=settings.salesforce_api_version, timeout=settings.crm_timeout_seconds)
        builtin.append(BuiltinTarget("salesforce", settings.salesforce_instance_url))
    smtp = settings.smtp_server
    if smtp is not None:
        channels["email"] = EmailChannel(server=smtp, sender=settings.smtp_from, clock=clock,
                                         timeout=settings.smtp_timeout_seconds)
        builtin.append(BuiltinTarget("email", smtp.display_url))
        if smtp.security == "plain" and smtp.username is not None:
            log.warning("sla.smtp_login_unencrypted", server=smtp.display_url,
                        hint="use smtp+starttls:// or smtps:// so the password is not sent in the clear")
    return channels, builtin


def create_app(settings: SlaMonitorSettings, *, clock: Clock | None = None) -> FastAPI:
    clock = clock or SystemClock()
    engine = db.create_engine(settings.sla_monitor_database_url, schema=settings.sla_monitor_database_schema)
    session_factory = db.create_session_factory(engine)
    policies = policy_documents()
    publisher = EventPublisher(settings)
    relay = service_relay(settings, session_factory=session_factory, table=tables.outbox,
                          marks_table=tables.outbox_marks, publisher=publisher)
    retention = service_retention(settings, session_factory=session_factory, clock=clock,
                                  rules=retention_rules(settings))
    http = httpx.AsyncClient(follow_redirects=False, transport=WebhookTransport(
        allow_private=settings.allow_private_webhook_targets))
    # CRM APIs are configured by the operator, not by API callers: no SSRF guard, so a local fake works.
    crm_http = httpx.AsyncClient(follow_redirects=False)
    channels, builtin = delivery_channels(settings, clock=clock, http=http, crm_http=crm_http)
    assert settings.admin_token is not None
    upstream = Upstream(router_url=settings.router_url, intake_url=settings.intake_url,
                        admin_token=settings.admin_token.get_secret_value(),
                        timeout=settings.console_upstream_timeout_seconds)
    delivery = DeliveryWorker(session_factory=session_factory, settings=settings, clock=clock, channels=channels,
                              after_change=relay.notify)

    feed = LiveFeed()

    def after_fire() -> None:  # a clock changed, and its transaction committed
        relay.notify()
        delivery.wake()
        feed.board_changed()

    consumer: EventConsumer

    def owned() -> frozenset[int]:
        # Only partitions whose backlog (touches among it) is handled: no breach fired ahead of its touch.
        return consumer.caught_up_partitions

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
        settings=settings, group_id=CONSUMER_GROUP, topics=CONSUMED_TOPICS,
        handler=make_handler(policies=policies, clock=clock,
                             touch_skew=timedelta(seconds=settings.touch_clock_skew_seconds),
                             lead_url_template=settings.lead_url_template),
        session_factory=session_factory,
        processed_events=tables.processed_events, publisher=publisher, after_commit=after_commit,
        on_assignment=on_assignment,
    )

    board_watch = BoardWatch(session_factory=session_factory, clock=clock, feed=feed,
                             interval=settings.console_board_recheck_seconds,
                             breached_within=timedelta(hours=settings.console_board_breached_hours))
    event_tail = EventTail(settings=settings, feed=feed)
    supervisor = Supervisor({"outbox_relay": relay, "consumer": consumer, "ticker": ticker, "delivery": delivery,
                             "retention": retention, "board_watch": board_watch, "event_tail": event_tail},
                            optional=frozenset({"board_watch", "event_tail"}))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await policies.seed_from_file(session_factory, settings.sla_policies_path, what="SLA policy document",
                                      setting="SLA_POLICIES_PATH", now=clock.now())
        await sync_builtin_targets(session_factory, builtin, now=clock.now())
        await ensure_topics(settings, topics.ALL_TOPICS)
        await publisher.start()
        supervisor.start()
        log.info("sla.started", port=settings.sla_monitor_port)
        restore_signals = close_on_exit_signal(feed)
        try:
            yield
        finally:
            restore_signals()
            feed.close()
            await supervisor.stop()
            await http.aclose()
            await crm_http.aclose()
            await upstream.aclose()
            await publisher.stop()
            await engine.dispose()
            log.info("sla.stopped")

    app = service_app(title="leadrouter sla-monitor", lifespan=lifespan, engine=engine, publisher=publisher,
                      description="Response clocks per assignment, SLA alerts, escalation and speed-to-lead reports.",
                      supervisor=supervisor, settings=settings, session_factory=session_factory, policies=policies,
                      clock=clock, ticker=ticker, consumer=consumer, upstream=upstream, feed=feed,
                      delivery=delivery)
    admin = [Depends(bearer_token_dependency(settings.admin_tokens))]
    app.include_router(api_router, dependencies=admin)
    app.include_router(prediction_router, dependencies=admin)
    app.include_router(delivery_router, dependencies=admin)
    app.include_router(event_stream_router, dependencies=admin)
    app.include_router(dlq_router(settings=settings, group=CONSUMER_GROUP, topics=CONSUMED_TOPICS,
                                  publisher=publisher), dependencies=admin)
    # The console has its own session (signed in with the admin token), so it is outside the bearer gate (/v1/).
    install_console(app, settings)
    body_limit, document_limit = settings.http_max_body_bytes, settings.http_max_document_bytes
    guard(app, refuse=admin_gate(settings.admin_tokens), throttle=settings.failed_attempts(),
          limit_for=lambda path: document_limit if path in DOCUMENT_PATHS else body_limit)
    return app


#: The routes that take a whole document (policies; a routing draft from the console), with the larger body limit.
DOCUMENT_PATHS = frozenset({"/v1/sla/policies", "/ops/routing/validate", "/ops/routing/publish",
                            "/ops/routing/backtest"})
