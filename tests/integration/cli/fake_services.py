"""Stand-ins (real HTTP) for the endpoints the CLI uses that live on other branches: the router's backtest, the
sla-monitor's SLA prediction, deliveries with resend, and the live event stream. They answer per the shapes in
CONSOLE_SPEC.md and record what they were sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

TOKEN = "fake-admin"

BACKTEST = {
    "from": "2026-10-28T10:00:00+00:00", "to": "2026-11-27T10:00:00+00:00", "days": 30, "leads": 1200,
    "changed": 180, "duration_ms": 640.0, "current_version": 4,
    "teams": [{"team": "emea", "actual": 400, "draft": 520}, {"team": "na-enterprise", "actual": 800, "draft": 680}],
    "reps": [{"rep_id": "rep-dora", "team": "emea", "actual": 260, "draft": 350},
             {"rep_id": "rep-emil", "team": "emea", "actual": 140, "draft": 170},
             {"rep_id": "rep-ana", "team": "na-enterprise", "actual": 800, "draft": 680}],
    "by_rep_urgency": {
        "draft": [{"rep_id": "rep-dora", "team": "emea", "urgency": "hot", "count": 350},
                  {"rep_id": "rep-emil", "team": "emea", "urgency": "warm", "count": 170},
                  {"rep_id": "rep-ana", "team": "na-enterprise", "urgency": "hot", "count": 680}],
        "actual": [{"rep_id": "rep-dora", "team": "emea", "urgency": "hot", "count": 260},
                   {"rep_id": "rep-emil", "team": "emea", "urgency": "warm", "count": 140},
                   {"rep_id": "rep-ana", "team": "na-enterprise", "urgency": "hot", "count": 800}]},
}


def _rep(rep_id: str, team: str, leads: int, pct: float, samples: int) -> dict[str, Any]:
    return {"rep_id": rep_id, "team": team, "leads": leads, "predicted_within_sla_pct": pct, "samples": samples}


PREDICTION = {"scenarios": {
    "draft": {"predicted_within_sla_pct": 88.4, "reps": [
        _rep("rep-dora", "emea", 350, 93.0, 210), _rep("rep-emil", "emea", 170, 97.5, 90),
        _rep("rep-ana", "na-enterprise", 680, 82.0, 400)]},
    "actual": {"predicted_within_sla_pct": 84.1, "reps": [
        _rep("rep-dora", "emea", 260, 93.0, 210), _rep("rep-emil", "emea", 140, 97.5, 90),
        _rep("rep-ana", "na-enterprise", 800, 78.5, 400)]}},
    "observed_within_sla_pct": 83.9}

DELIVERIES = [
    {"id": 12, "event_id": "e-12", "event_type": "sla.breached", "lead_id": "lead-7", "state": "failed",
     "attempts": 8, "last_status": 500, "last_error": "HTTP 500 from the receiver", "next_attempt_at": None,
     "created_at": "2026-11-27T09:00:00+00:00", "delivered_at": None, "external_id": None,
     "subscription_id": "sub-1", "channel": "webhook"},
    {"id": 11, "event_id": "e-11", "event_type": "lead.assigned", "lead_id": "lead-7", "state": "delivered",
     "attempts": 1, "last_status": 200, "last_error": None, "next_attempt_at": None,
     "created_at": "2026-11-27T08:59:00+00:00", "delivered_at": "2026-11-27T08:59:01+00:00", "external_id": None,
     "subscription_id": "sub-2", "channel": "slack"},
]

EVENTS = [
    {"id": "1", "type": "lead.assigned", "time": "2026-11-27T10:00:00+00:00", "lead_id": "lead-7",
     "data": {"lead_id": "lead-7", "team": "emea", "rep_id": "rep-dora", "urgency": "hot", "rule_id": "emea-demo"}},
    {"id": "2", "type": "sla.warning", "time": "2026-11-27T10:25:00+00:00", "lead_id": "lead-7",
     "data": {"lead_id": "lead-7", "team": "emea", "rep_id": "rep-dora", "urgency": "hot",
              "due_at": "2026-11-27T10:30:00+00:00", "lead_name": "Jane Doe"}},
    {"id": "3", "type": "sla.breached", "time": "2026-11-27T10:30:01+00:00", "lead_id": "lead-7",
     "data": {"lead_id": "lead-7", "team": "emea", "rep_id": "rep-dora", "urgency": "hot",
              "due_at": "2026-11-27T10:30:00+00:00", "lead_name": "Jane Doe"}},
]


def _frame(event: dict[str, Any]) -> bytes:
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


class FakeServices:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.stream_connections: list[dict[str, str]] = []
        self.resent: list[int] = []
        #: Batches received (idempotency key, rows); with ``hang_on_batch`` = n the n-th one never gets an answer.
        self.batches: list[tuple[str | None, int]] = []
        self.hang_on_batch: int | None = None
        self.batch_hanging = asyncio.Event()
        self.app = Starlette(routes=[
            Route("/v1/leads/batch", self.batch, methods=["POST"]),
            Route("/v1/routing/backtest", self.backtest, methods=["POST"]),
            Route("/v1/reports/predict-sla", self.predict, methods=["POST"]),
            Route("/v1/deliveries", self.deliveries),
            Route("/v1/deliveries/{id:int}/resend", self.resend, methods=["POST"]),
            Route("/v1/events/stream", self.stream),
        ])

    async def _authorized(self, request: Request) -> Response | None:
        body = await request.body()
        self.requests.append((request.method, request.url.path, dict(request.query_params),
                              json.loads(body) if body else None))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"detail": "Admin endpoints need 'Authorization: Bearer <ADMIN_TOKEN>'."}, 401)
        return None

    async def batch(self, request: Request) -> Response:
        """Intake's batch endpoint, accepting every row; or hanging (intake stalls) on the chosen batch."""
        rows = (await request.body()).decode().count("\r\n") - 1
        self.batches.append((request.headers.get("idempotency-key"), rows))
        if len(self.batches) == self.hang_on_batch:
            self.batch_hanging.set()
            await request.receive()  # the body is read: this returns when the client goes away
        accepted = [{"row": n, "lead_id": f"lead-{len(self.batches)}-{n}", "duplicate_of": None}
                    for n in range(1, rows + 1)]
        return JSONResponse({"accepted": accepted, "rejected": []})

    async def backtest(self, request: Request) -> Response:
        if refused := await self._authorized(request):
            return refused
        body = await request.json()
        if "unknown-team" in body["document"]:
            return JSONResponse({"detail": "The routing document has 1 problem(s); nothing was changed.",
                                 "errors": [{"field": "rules[0].team", "message": "names no team of the document"}]},
                                422)
        return JSONResponse({**BACKTEST, "days": body["days"]})

    async def predict(self, request: Request) -> Response:
        return await self._authorized(request) or JSONResponse(PREDICTION)

    async def deliveries(self, request: Request) -> Response:
        if refused := await self._authorized(request):
            return refused
        state = request.query_params.get("state")
        return JSONResponse({"deliveries": [d for d in DELIVERIES if state in (None, d["state"])]})

    async def resend(self, request: Request) -> Response:
        if refused := await self._authorized(request):
            return refused
        delivery_id = request.path_params["id"]
        if delivery_id == 11:
            return JSONResponse({"detail": "Delivery 11 is already pending."}, 409)
        if delivery_id != 12:
            return JSONResponse({"detail": f"There is no delivery {delivery_id}."}, 404)
        self.resent.append(delivery_id)
        return JSONResponse({"id": delivery_id, "state": "pending"}, 202)

    async def stream(self, request: Request) -> Response:
        """First connection: a keepalive, events 1 and 2, then the stream drops. Later ones: what follows the
        Last-Event-ID, then nothing but keepalives until the client leaves."""
        if refused := await self._authorized(request):
            return refused
        self.stream_connections.append(dict(request.headers))
        first = len(self.stream_connections) == 1
        after = int(request.headers.get("last-event-id", "0"))

        async def frames() -> AsyncIterator[bytes]:
            yield b"retry: 50\n: keepalive\n\n"
            for event in EVENTS[after:]:
                yield _frame(event)
                if first and event["id"] == "2":
                    return
            while True:
                await asyncio.sleep(0.05)
                yield b": keepalive\n\n"

        return StreamingResponse(frames(), media_type="text/event-stream")
