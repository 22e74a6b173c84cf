"""Helpers for integration tests: serve an app over real HTTP, produce and read events on a real broker."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from devstack.broker import free_port
from shared.events import CloudEvent

T = TypeVar("T")


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run ``app`` (lifespan included) with uvicorn on a free port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           lifespan="on", timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise a start-up failure
                raise RuntimeError("The server stopped before it started.")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0,
                     interval: float = 0.05, what: str = "the condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout}s waiting for {what}.")
        await asyncio.sleep(interval)


async def publish(bootstrap: str, topic: str, event: CloudEvent) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, event.to_bytes(), key=event.subject.encode())
    finally:
        await producer.stop()


class TopicReader:
    """Reads every event on some topics from the beginning, without a consumer group."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self._consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None,
                                          auto_offset_reset="earliest", fetch_max_wait_ms=5,
                                          enable_auto_commit=False)
        self.events: list[CloudEvent] = []

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def poll(self) -> list[CloudEvent]:
        batches = await self._consumer.getmany(timeout_ms=50)
        for records in batches.values():
            self.events.extend(CloudEvent.from_bytes(r.value) for r in records)
        return self.events

    async def wait_for(self, predicate: Callable[[CloudEvent], bool], *, count: int = 1,
                       timeout: float = 20.0) -> list[CloudEvent]:
        async def probe() -> list[CloudEvent] | None:
            matching = [e for e in await self.poll() if predicate(e)]
            return matching if len(matching) >= count else None

        return await eventually(probe, timeout=timeout, what=f"{count} matching event(s)")


async def read_raw(bootstrap: str, topic: str, *, count: int, timeout: float = 20.0) -> list[Any]:
    """The first ``count`` records of ``topic`` as they are (headers included), without decoding."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                fetch_max_wait_ms=5, enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        async def enough() -> list[Any] | None:
            for batch in (await consumer.getmany(timeout_ms=50)).values():
                records.extend(batch)
            return records if len(records) >= count else None

        return await eventually(enough, timeout=timeout, what=f"{count} record(s) on {topic}")
    finally:
        await consumer.stop()


@contextlib.contextmanager
def thread_pool_dependency_calls() -> Iterator[list[str]]:
    """The dependencies FastAPI runs in a thread pool while inside (a plain ``def`` dependency goes there: a
    thread hand-off per dependency per request; the services' dependencies are all ``async def``)."""
    from fastapi.dependencies import utils as fastapi_dependencies

    calls: list[str] = []
    original = fastapi_dependencies.run_in_threadpool

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(func, "__qualname__", repr(func)))
        return await original(func, *args, **kwargs)

    fastapi_dependencies.run_in_threadpool = counted  # type: ignore[assignment]
    try:
        yield calls
    finally:
        fastapi_dependencies.run_in_threadpool = original
