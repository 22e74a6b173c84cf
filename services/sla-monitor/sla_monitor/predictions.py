"""Predicting % within SLA for spreads of leads over reps: read the observed clocks, judge them by the active
policies (see ``sla_monitor.domain.prediction``). Used by ``POST /v1/reports/predict-sla`` and the console."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.versioned import VersionedDocuments
from sla_monitor.domain.policies import PolicySet
from sla_monitor.domain.prediction import Demand, predict
from sla_monitor.prediction_store import observations_since


async def predict_sla(session: AsyncSession, *, policies: VersionedDocuments[PolicySet],
                      scenarios: dict[str, list[Demand]], days: int, now: datetime) -> dict[str, Any]:
    active = await policies.active(session)
    observations = await observations_since(session, now - timedelta(days=days))
    # In a thread: judging tens of thousands of clocks against business-hours calendars takes a while.
    return await asyncio.to_thread(predict, scenarios, observations, active.parsed, now)
