"""Group commit: leads posted at the same time are stored in shared transactions, each answered only after its
own group committed, and a group that fails is redone lead by lead so only the failing lead fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake import group_commit, tables
from intake.group_commit import LeadCommitter
from shared import db
from shared.events import LeadFields
from tests.conftest import DatabaseFactory
from tests.integration.intake.conftest import migrated


@pytest.fixture
async def factory(databases: DatabaseFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(await migrated(databases), schema="intake")
    yield db.create_session_factory(engine)
    await engine.dispose()


def _committer(factory: async_sessionmaker[AsyncSession], commits: list[int] | None = None) -> LeadCommitter:
    return LeadCommitter(factory, clock=lambda: datetime.now(UTC), duplicate_lookback=timedelta(days=90),
                         after_commit=(lambda: commits.append(1)) if commits is not None else None)


def _lead(n: int, email: str | None = None) -> LeadFields:
    return LeadFields(email=email or f"lead{n}@example.org", source="web_form", first_name=f"N{n}")


async def _stored(factory: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with factory() as session:
        leads = {r.lead_id: r for r in (await session.execute(select(tables.leads))).all()}
        events = (await session.execute(select(func.count()).select_from(tables.outbox))).scalar_one()
    return {"leads": leads, "events": events}


async def test_leads_posted_together_share_transactions_and_each_gets_its_own_answer(
        factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    groups: list[int] = []
    real = group_commit.accept_leads

    async def counting(session: AsyncSession, leads: Any, **kwargs: Any) -> Any:
        groups.append(len(leads))
        return await real(session, leads, **kwargs)

    monkeypatch.setattr(group_commit, "accept_leads", counting)
    committer = _committer(factory)
    leads = [_lead(n) for n in range(60)] + [_lead(60, email="lead3@example.org")]  # a duplicate of lead 3
    answers = await asyncio.gather(*(committer.accept(lead, submitted_by="web") for lead in leads))
    assert sum(groups) == 61 and len(groups) < 61  # several leads per transaction
    stored = await _stored(factory)
    assert set(stored["leads"]) == {a.lead_id for a in answers} and stored["events"] == 61
    assert answers[60].duplicate_of == answers[3].lead_id  # the earlier lead of the same group is the original
    assert all(stored["leads"][a.lead_id].submitted_by == "web" for a in answers)


async def test_a_lead_that_cannot_be_stored_fails_alone_and_its_group_is_stored(
        factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    real_one = group_commit.accept_lead

    async def group_fails(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the group's transaction failed")

    async def one_fails(session: AsyncSession, lead: LeadFields, **kwargs: Any) -> Any:
        if lead.email == "bad@example.org":
            raise RuntimeError("this lead cannot be stored")
        return await real_one(session, lead, **kwargs)

    monkeypatch.setattr(group_commit, "accept_leads", group_fails)
    monkeypatch.setattr(group_commit, "accept_lead", one_fails)
    committer = _committer(factory)
    leads = [_lead(0), _lead(1, email="bad@example.org"), _lead(2)]
    results = await asyncio.gather(*(committer.accept(lead, submitted_by="web") for lead in leads),
                                   return_exceptions=True)
    assert isinstance(results[1], RuntimeError) and str(results[1]) == "this lead cannot be stored"
    stored = await _stored(factory)
    assert {r.email for r in stored["leads"].values()} == {"lead0@example.org", "lead2@example.org"}
    assert stored["events"] == 2  # nothing half-written for the failed lead
