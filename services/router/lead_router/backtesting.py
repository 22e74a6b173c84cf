"""Running a backtest: read the period from the database chunk by chunk and replay it through a draft."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lead_router.backtest_store import leads_of_period, open_at, owners_before
from lead_router.domain.backtest import Outcome, Replay
from lead_router.domain.config import RoutingConfig
from lead_router.state_store import rep_states


async def run_backtest(session: AsyncSession, draft: RoutingConfig, *, since: datetime, until: datetime) -> Outcome:
    """Replay the leads received in ``[since, until)`` through ``draft``; see ``lead_router.domain.backtest``.

    Each chunk is replayed in a thread, so a long replay leaves the event loop free for other requests."""
    rep_ids = sorted({rep.id for team in draft.teams for rep in team.reps})
    replay = Replay(draft, reps=await rep_states(session, rep_ids))
    for rep_id, touched_at in await open_at(session, since):
        replay.open_lead(rep_id, touched_at)
    async for owners in owners_before(session, since, lookback_days=draft.ownership.lookback_days):
        for owner in owners:
            replay.earlier_owner(owner)
    async for leads in leads_of_period(session, since=since, until=until):
        await asyncio.to_thread(replay.feed_many, leads)
    return await asyncio.to_thread(replay.finish, until)
