"""Group commit: leads posted at the same time share one transaction, one statement per table and one fsync.

Each ``POST /v1/leads`` hands its validated lead to the committer and waits for the commit of the group it
joined; its answer (202) is sent only after that commit, as before. While a group commits, the next leads
gather, so groups are small under light load (a lone lead commits at once) and large under heavy load — the
per-lead cost falls exactly when it matters. A group whose transaction fails is redone one lead per
transaction, so one lead that cannot be stored fails alone and the others are stored; every lead of a group
is stored exactly once or not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake import tables
from intake.leads import AcceptedLead, accept_lead, accept_leads
from shared.db import take_write_lock
from shared.events import LeadFields
from shared.logging import get_logger

log = get_logger(__name__)

#: The most leads one transaction takes; more wait for the next.
MAX_GROUP = 200


@dataclass
class _Waiting:
    lead: LeadFields
    submitted_by: str
    answer: asyncio.Future[AcceptedLead]


class LeadCommitter:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], *, clock: Callable[[], datetime],
                 duplicate_lookback: timedelta, after_commit: Callable[[], None] | None = None) -> None:
        self._session_factory = session_factory
        self._now = clock
        self._lookback = duplicate_lookback
        self._after_commit = after_commit
        self._waiting: list[_Waiting] = []
        self._committing: asyncio.Task[None] | None = None

    async def accept(self, lead: LeadFields, *, submitted_by: str) -> AcceptedLead:
        """Store ``lead`` (with its ``lead.received``) in the next group; return once that group committed."""
        waiting = _Waiting(lead, submitted_by, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_all())
        return await asyncio.shield(waiting.answer)  # a client hanging up does not unstore its lead

    async def _commit_all(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            try:
                await self._commit(group)
            except Exception as exc:  # noqa: BLE001 - delivered to each waiting request instead
                for waiting in group:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(exc)

    async def _commit(self, group: list[_Waiting]) -> None:
        now = self._now()
        try:
            async with self._session_factory.begin() as session:
                await take_write_lock(session, tables.leads)  # it stores leads: a writer from the start
                accepted = await accept_leads(session, [w.lead for w in group],
                                              submitted_by=[w.submitted_by for w in group], now=now,
                                              duplicate_lookback=self._lookback)
        except Exception as exc:
            if len(group) == 1:
                raise
            log.info("intake.group_redone_one_by_one", leads=len(group), error=type(exc).__name__)
            await self._one_by_one(group, now)
            return
        self._committed()
        for waiting, answer in zip(group, accepted, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result(answer)

    async def _one_by_one(self, group: list[_Waiting], now: datetime) -> None:
        for waiting in group:
            try:
                async with self._session_factory.begin() as session:
                    await take_write_lock(session, tables.leads)
                    answer = await accept_lead(session, waiting.lead, submitted_by=waiting.submitted_by, now=now,
                                               duplicate_lookback=self._lookback)
            except Exception as exc:  # noqa: BLE001 - this lead's request answers with it
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)
                continue
            self._committed()
            if not waiting.answer.done():
                waiting.answer.set_result(answer)

    def _committed(self) -> None:
        if self._after_commit is not None:
            self._after_commit()
