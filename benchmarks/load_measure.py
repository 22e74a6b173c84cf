"""What the load benchmark reads back: Kafka records with their timestamps, the router group's lag, the
clocks the sla-monitor stored, and the raw produce → consume baseline of the broker itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import select

from shared.db import create_engine
from shared.events import CloudEvent
from shared.kafka import ensure_topics
from shared.settings import KafkaSettings

BASELINE_TOPIC = "bench.baseline"


@dataclass(frozen=True)
class Record:
    """An event as read from Kafka; ``at`` is the record's timestamp (the producer's send time), in seconds."""

    at: float
    event: CloudEvent


def stats(values: list[float]) -> dict[str, float | int | None]:
    """n, p50, p99 and max of durations in seconds, given in milliseconds."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"n": len(ordered), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 1)}


def seconds(value: str | datetime | None) -> float | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.timestamp()


class TimedReader:
    """Reads topics from the beginning without a consumer group, keeping the first record of each lead."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self._consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None,
                                          auto_offset_reset="earliest", fetch_max_wait_ms=50,
                                          enable_auto_commit=False)
        self.first: dict[str, dict[str, Record]] = {topic: {} for topic in topics}
        self.by_type: dict[str, dict[str, Record]] = {}

    async def __aenter__(self) -> TimedReader:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def poll(self) -> None:
        for records in (await self._consumer.getmany(timeout_ms=200, max_records=5000)).values():
            for record in records:
                try:
                    event = CloudEvent.from_bytes(record.value)
                except ValueError:
                    continue
                timed = Record(record.timestamp / 1000, event)
                self.first[record.topic].setdefault(event.subject, timed)
                self.by_type.setdefault(event.type, {}).setdefault(event.subject, timed)

    async def until(self, done: Callable[[TimedReader], bool], *, deadline: float, catch_up: float = 120) -> bool:
        """Read until ``done``, or until everything on the topics at the wall-clock ``deadline`` is read (at
        most ``catch_up`` seconds more); whether ``done`` came true. What counts as in time is judged by the
        records' timestamps, so reading them late changes nothing."""
        ends: dict[TopicPartition, int] | None = None
        while True:
            await self.poll()
            if done(self):
                return True
            if time.time() > deadline + catch_up:
                return False
            if time.time() > deadline:
                if not ends:  # empty until the partitions are assigned
                    ends = await self._consumer.end_offsets(list(self._consumer.assignment()))
                positions = [await self._consumer.position(tp) for tp in ends]
                if ends and all(p >= end for p, end in zip(positions, ends.values(), strict=True)):
                    return False


class Tail:
    """Follows topics live (no group) and notes when each lead's first record became readable here.

    A record's timestamp is taken by the producer when the service hands it to its Kafka client; in a busy
    service it may sit in that client for a while before the broker has it, and that wait would otherwise
    be counted in the next stage. This process is idle during the run, so what it sees is close to when
    the record became readable. Only keys (the lead id) are read: nothing is decoded."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self._consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None,
                                          auto_offset_reset="earliest", fetch_max_wait_ms=10,
                                          enable_auto_commit=False)
        self.seen: dict[str, dict[str, float]] = {topic: {} for topic in topics}

    async def run(self) -> None:
        await self._consumer.start()
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=100)
                now = time.time()
                for records in batches.values():
                    for record in records:
                        if record.key is not None:
                            self.seen[record.topic].setdefault(record.key.decode(), now)
        finally:
            await self._consumer.stop()


async def group_lag(bootstrap: str, group: str, topic: str) -> int | None:
    """Messages of ``topic`` the group has not committed yet (None when the broker will not say).

    A consumer of ``group`` that never subscribes only fetches the group's committed offsets: it does not
    join the group, so the router's partitions stay where they are."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        await consumer.start()
        partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not partitions:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - the topic may be new to this client
            partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        ends = await consumer.end_offsets(partitions)
        lag = 0
        for tp, end in ends.items():
            committed = await consumer.committed(tp)
            lag += max(0, end - (committed or 0))
        return lag
    except Exception:  # noqa: BLE001 - a broker that will not say: the backlog is then computed offline
        return None
    finally:
        await consumer.stop()


async def sample_lag(bootstrap: str, group: str, topic: str, into: list[tuple[float, int | None]],
                     every: float = 2.0) -> None:
    """Sample the group's lag every ``every`` seconds into ``into`` as ``(wall time, lag)`` until cancelled."""
    while True:
        into.append((time.time(), await group_lag(bootstrap, group, topic)))
        await asyncio.sleep(every)


async def clock_facts(database_url: str, lead_ids: set[str]) -> dict[str, dict[str, Any]]:
    """Per lead, its first clock: when the monitor started it (its first history entry), due_at, and when
    the ticker fired the breach (the history entry saying so)."""
    from sla_monitor import tables

    engine = create_engine(database_url, schema="sla_monitor")
    c = tables.clocks
    facts: dict[str, dict[str, Any]] = {}
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(c.c.lead_id, c.c.due_at, c.c.history))).all()
    finally:
        await engine.dispose()
    for lead_id, due_at, history in rows:
        if lead_id not in lead_ids or lead_id in facts:
            continue
        entries = history if isinstance(history, list) else json.loads(history)
        fired = next((seconds(h["at"]) for h in entries if str(h.get("what", "")).startswith("breached")), None)
        facts[lead_id] = {"started": seconds(entries[0]["at"]) if entries else None,
                          "due": seconds(due_at), "fired": fired}
    return facts


async def kafka_baseline(bootstrap: str, *, rate: float, duration: float) -> dict[str, Any]:
    """Produce (acks=all, as the services do) at ``rate`` for ``duration`` seconds and consume without a group
    in the same process: per message, the time from when it was due to be sent to when it was read."""
    await ensure_topics(KafkaSettings(kafka_bootstrap_servers=bootstrap), [BASELINE_TOPIC])
    consumer = AIOKafkaConsumer(BASELINE_TOPIC, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="latest", fetch_max_wait_ms=5, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    count = int(rate * duration)
    sent: dict[int, float] = {}
    round_trips: list[float] = []
    payload = os.urandom(400).hex()  # about the size of a lead event
    try:
        await consumer.seek_to_end()
        await consumer.getmany(timeout_ms=200)  # the assignment is in place before the first send
        for i in range(24):  # warm up: metadata and connections to every partition's leader, not measured
            await producer.send_and_wait(BASELINE_TOPIC, key=str(-1 - i).encode(), value=b"{}")
        await asyncio.sleep(0.2)
        await consumer.getmany(timeout_ms=200)

        async def read() -> None:
            while len(round_trips) < count:
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    now = time.perf_counter()
                    for record in records:
                        n = int(record.key)
                        if n in sent:
                            round_trips.append(now - sent[n])

        reader = asyncio.create_task(read())
        base = time.perf_counter()
        for n in range(count):
            await asyncio.sleep(max(0.0, base + n / rate - time.perf_counter()))
            sent[n] = base + n / rate
            await producer.send(BASELINE_TOPIC, key=str(n).encode(),
                                value=json.dumps({"id": str(uuid.uuid4()), "pad": payload}).encode())
        # Round trips not read within 30 s are left out; stats() reports how many arrived (n).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, timeout=30)
    finally:
        await producer.stop()
        await consumer.stop()
    return {"rate": rate, "seconds": duration, "sent": count, **stats(round_trips)}
