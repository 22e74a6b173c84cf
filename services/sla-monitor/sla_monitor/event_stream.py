"""``GET /v1/events/stream``: the events the sla-monitor consumes and publishes, live, as Server-Sent Events
(``leadrouter tail``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from sla_monitor.live import LiveFeed

router = APIRouter(prefix="/v1")
KEEPALIVE_SECONDS = 15.0
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def sse_message(event: dict[str, Any]) -> str:
    """One event in the SSE wire format (its id and type on their own lines; data is one JSON line)."""
    return f"id: {_line(event['id'])}\nevent: {_line(event['type'])}\ndata: {json.dumps(event)}\n\n"


def _line(value: Any) -> str:
    return str(value).replace("\r", " ").replace("\n", " ")


async def event_messages(feed: LiveFeed, *, keepalive: float = KEEPALIVE_SECONDS) -> AsyncIterator[str]:
    async with feed.subscribe() as subscription:
        with contextlib.suppress(TimeoutError):  # a broker that is away: the events come once it is back
            await asyncio.wait_for(feed.tail_ready.wait(), timeout=keepalive)
        yield ": following sla-monitor events\n\n"
        while True:
            try:
                event = await asyncio.wait_for(subscription.queue.get(), timeout=keepalive)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            if subscription.dropped:
                yield f": {subscription.dropped} event(s) dropped: this client read too slowly\n\n"
                subscription.dropped = 0
            yield sse_message(event)


@router.get("/events/stream", tags=["events"], response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def events_stream(request: Request) -> StreamingResponse:
    """Every event on ``leads.assigned``, ``leads.activity`` and ``sla.alerts`` from now on, as
    ``text/event-stream``: ``id:`` the event id, ``event:`` its type, ``data:`` ``{"id", "type", "time",
    "lead_id", "data"}`` (without the lead's ``contact`` block); ``: keepalive`` every 15 seconds."""
    return StreamingResponse(event_messages(request.app.state.feed), media_type="text/event-stream",
                             headers=SSE_HEADERS)
