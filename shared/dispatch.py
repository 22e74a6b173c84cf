"""Route a consumed event to its handler by the class of its data, not by a type string.

``dispatch({LeadReceived: on_received, ...})`` gives the consumer's handler: it ignores event types the
table does not name (a topic carries events for other consumers too), validates (and upcasts) the data of
the others, and calls ``on_received(data, event=..., session=..., partition=...)``.

``batches={LeadReceived: on_received_many}`` lets a consumer handle a run of consecutive events of one type in
one call (``on_received_many([(data, event), ...], session=..., partition=...)``): set-based statements for a
whole batch instead of round trips per event. Events keep their order; a run ends at an event of another type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import CloudEvent, EventData, parse_data

Handler = Callable[[CloudEvent, AsyncSession, int], Awaitable[None]]
EventHandler = Callable[..., Awaitable[None]]
"""``async def on_x(data: X, *, event: CloudEvent, session: AsyncSession, partition: int) -> None``"""


BatchHandler = Callable[..., Awaitable[None]]
"""``async def on_xs(items: list[tuple[X, CloudEvent]], *, session: AsyncSession, partition: int) -> None``"""


class Dispatcher:
    """The consumer's handler: ``await dispatcher(event, session, partition)`` for one event,
    ``await dispatcher.handle_many([(event, partition), ...], session)`` for several, in order."""

    def __init__(self, handlers: Mapping[type[EventData], EventHandler],
                 batches: Mapping[type[EventData], BatchHandler] | None = None) -> None:
        self._by_type = {model.event_type: handler for model, handler in handlers.items()}
        self._batches = {model.event_type: handler for model, handler in (batches or {}).items()}

    async def __call__(self, event: CloudEvent, session: AsyncSession, partition: int) -> None:
        handler = self._by_type.get(event.type)
        if handler is None:
            return
        data: Any = parse_data(event)
        await handler(data, event=event, session=session, partition=partition)

    async def handle_many(self, events: list[tuple[CloudEvent, int]], session: AsyncSession) -> None:
        run: list[CloudEvent] = []
        run_partition = -1
        for event, partition in events:
            if run and (event.type != run[0].type or partition != run_partition):
                await self._run(run, session, run_partition)
                run = []
            run.append(event)
            run_partition = partition
        if run:
            await self._run(run, session, run_partition)

    async def _run(self, events: list[CloudEvent], session: AsyncSession, partition: int) -> None:
        batch = self._batches.get(events[0].type)
        if batch is None or len(events) == 1:
            for event in events:
                await self(event, session, partition)
            return
        await batch([(parse_data(event), event) for event in events], session=session, partition=partition)


def dispatch(handlers: Mapping[type[EventData], EventHandler],
             batches: Mapping[type[EventData], BatchHandler] | None = None) -> Dispatcher:
    return Dispatcher(handlers, batches)
