"""Route a consumed event to its handler by the class of its data, not by a type string.

``dispatch({LeadReceived: on_received, ...})`` gives the consumer's handler: it ignores event types the
table does not name (a topic carries events for other consumers too), validates (and upcasts) the data of
the others, and calls ``on_received(data, event=..., session=..., partition=...)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import CloudEvent, EventData, parse_data

Handler = Callable[[CloudEvent, AsyncSession, int], Awaitable[None]]
EventHandler = Callable[..., Awaitable[None]]
"""``async def on_x(data: X, *, event: CloudEvent, session: AsyncSession, partition: int) -> None``"""


def dispatch(handlers: Mapping[type[EventData], EventHandler]) -> Handler:
    by_type: dict[str, EventHandler] = {model.event_type: handler for model, handler in handlers.items()}

    async def handle(event: CloudEvent, session: AsyncSession, partition: int) -> None:
        handler = by_type.get(event.type)
        if handler is None:
            return
        data: Any = parse_data(event)
        await handler(data, event=event, session=session, partition=partition)

    return handle
