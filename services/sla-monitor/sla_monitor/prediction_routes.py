"""``POST /v1/reports/predict-sla``: the predicted % within SLA of spreads of leads over reps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from shared.events import Urgency, limits
from shared.http import ClockDep, SessionDep
from sla_monitor.domain.prediction import Demand
from sla_monitor.predictions import predict_sla

router = APIRouter(prefix="/v1", tags=["reports"])


class DemandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rep_id: Annotated[str | None, Field(max_length=limits.MAX_REP_ID)] = None
    team: Annotated[str, Field(min_length=1, max_length=limits.MAX_TEAM_ID)]
    urgency: Urgency
    count: Annotated[int, Field(ge=0, le=10_000_000)]


class PredictionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: Annotated[int, Field(ge=1, le=365, description="How many days of observed clocks to learn from.")] = 30
    scenarios: Annotated[dict[Annotated[str, Field(max_length=64)], Annotated[list[DemandIn], Field(
        max_length=10_000)]], Field(max_length=10, description="Named spreads, e.g. draft and actual.")]


@router.post("/reports/predict-sla")
async def predict(body: PredictionRequest, request: Request, session: SessionDep, clock: ClockDep) -> dict[str, Any]:
    """For each scenario (``count`` leads of an urgency per rep), the % within SLA predicted from each rep's
    observed first responses over the last ``days`` days, judged by today's policies; reps with few clocks
    fall back to their team's, then everyone's. ``observed_within_sla_pct`` is what was actually met."""
    scenarios = {name: [Demand(d.rep_id, d.team, d.urgency, d.count) for d in demands]
                 for name, demands in body.scenarios.items()}
    answer = await predict_sla(session, policies=request.app.state.policies, scenarios=scenarios, days=body.days,
                               now=clock.now())
    await session.rollback()
    return answer
