"""Retention on a real database with injected time: what has served its purpose goes, in small batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import MetaData, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake import tables as intake_tables
from intake.main import retention_rules as intake_rules
from intake.settings import IntakeSettings
from shared.db import create_engine, create_session_factory
from shared.retention import RetentionWorker, purge
from sla_monitor import tables
from sla_monitor.main import retention_rules as sla_rules
from sla_monitor.settings import SlaMonitorSettings
from tests.conftest import DatabaseFactory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def _scratch(databases: DatabaseFactory, metadata: MetaData) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(databases.new("retention"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def sla_db(databases: DatabaseFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async for factory in _scratch(databases, tables.metadata):
        yield factory


@pytest.fixture
async def intake_db(databases: DatabaseFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async for factory in _scratch(databases, intake_tables.metadata):
        yield factory


def _clock(lead_id: str, state: str) -> dict[str, Any]:
    return {"clock_id": f"clock-{lead_id}", "lead_id": lead_id, "partition": 0,
            "assignment_event_id": f"assigned-{lead_id}", "team": "emea", "urgency": "high", "lead": {},
            "policy": {}, "policy_version": 1, "state": state, "assigned_at": days_ago(60),
            "started_at": days_ago(60), "due_at": days_ago(59), "escalation_level": 0, "touches": 1,
            "gap_alerted": False, "history": []}


def _touch(activity_id: str, lead_id: str, occurred_at: datetime) -> dict[str, Any]:
    return {"activity_id": activity_id, "lead_id": lead_id, "type": "call", "occurred_at": occurred_at}


def _delivery(n: int, state: str, created_at: datetime) -> dict[str, Any]:
    return {"subscription_id": "s", "event_id": f"e{n}", "event_type": "sla.breached", "lead_id": "l",
            "payload": "{}", "state": state, "attempts": 1, "created_at": created_at}


def _outbox(n: int, created_at: datetime, published_at: datetime | None) -> dict[str, Any]:
    return {"event_id": f"o{n}", "topic": "t", "key": "k", "payload": "{}", "created_at": created_at,
            "published_at": published_at}


async def _ids(factory: async_sessionmaker[AsyncSession], column: Any) -> list[Any]:
    async with factory() as session:
        return sorted((await session.execute(select(column))).scalars())


async def test_sla_monitor_keeps_only_what_is_still_needed(sla_db: async_sessionmaker[AsyncSession]) -> None:
    settings = SlaMonitorSettings(admin_token="t")  # defaults: outbox 7, processed 14, touches 30, deliveries 30 days
    async with sla_db.begin() as session:
        await session.execute(insert(tables.clocks), [_clock("open", "running"), _clock("closed", "met")])
        await session.execute(insert(tables.touches), [
            _touch("old-of-running-clock", "open", days_ago(45)), _touch("old-of-closed-clock", "closed", days_ago(45)),
            _touch("old-of-no-clock", "none", days_ago(45)), _touch("recent", "closed", days_ago(3))])
        await session.execute(insert(tables.deliveries), [
            _delivery(1, "delivered", days_ago(31)), _delivery(2, "failed", days_ago(31)),
            _delivery(3, "pending", days_ago(31)), _delivery(4, "delivered", days_ago(29))])
        await session.execute(insert(tables.processed_events), [
            {"event_id": f"p{n}", "processed_at": days_ago(d)} for n, d in enumerate([20, 15, 14.1, 13, 1])])
        await session.execute(insert(tables.outbox), [
            _outbox(1, days_ago(9), days_ago(8)), _outbox(2, days_ago(9), days_ago(6)), _outbox(3, days_ago(30), None)])
        await session.execute(insert(tables.lead_links), [
            {"lead_id": lead, "crm": crm, "external_id": "x", "linked_at": days_ago(d)}
            for lead, crm, d in [("a", "hubspot", 31), ("a", "salesforce", 32), ("b", "hubspot", 31),
                                 ("b", "close", 2)]])

    deleted = await purge(sla_db, sla_rules(settings), now=NOW, batch_size=2)  # several batches per table

    assert deleted == {"outbox": 1, "processed_events": 3, "touches": 2, "deliveries": 2, "lead_links": 3}
    assert await _ids(sla_db, tables.lead_links.c.crm) == ["close"]
    assert await _ids(sla_db, tables.touches.c.activity_id) == ["old-of-running-clock", "recent"]
    assert await _ids(sla_db, tables.deliveries.c.event_id) == ["e3", "e4"]
    assert await _ids(sla_db, tables.processed_events.c.event_id) == ["p3", "p4"]
    assert await _ids(sla_db, tables.outbox.c.event_id) == ["o2", "o3"]  # never an unpublished event


async def test_intake_forgets_idempotency_keys_after_their_window(intake_db: async_sessionmaker[AsyncSession]) -> None:
    class At:
        def now(self) -> datetime:
            return NOW

    settings = IntakeSettings(admin_token="t", intake_api_keys="w:k", crm_webhook_secret="s",
                              idempotency_key_retention_days=2)
    async with intake_db.begin() as session:
        await session.execute(insert(intake_tables.idempotency_keys), [
            {"client": c, "key": k, "request_hash": "h", "status_code": 202, "response": {}, "created_at": at}
            for c, k, at in [("a", "1", days_ago(3)), ("b", "1", days_ago(3)), ("a", "2", days_ago(1))]])
    worker = RetentionWorker(session_factory=intake_db, rules=intake_rules(settings), batch_size=1, clock=At())

    assert await worker.work() is False
    async with intake_db() as session:
        left = (await session.execute(select(intake_tables.idempotency_keys.c.client,
                                             intake_tables.idempotency_keys.c.key))).all()
        assert [tuple(r) for r in left] == [("a", "2")]
        assert (await session.execute(select(func.count()).select_from(intake_tables.outbox))).scalar_one() == 0


def test_repeats_must_be_remembered_longer_than_events_can_be_republished() -> None:
    with pytest.raises(ValidationError, match="PROCESSED_EVENTS_RETENTION_DAYS .* must be longer than"):
        SlaMonitorSettings(admin_token="t", outbox_retention_days=14, processed_events_retention_days=14)
