"""Dead-letter topics: what is parked there (without PII) and a replay to the origin topic.

Every DLQ message carries headers naming the error and its origin (see ``EventConsumer._dead_letter``). A
replay re-publishes each parked message of one consumer group to its origin topic, once: the replay keeps
its own cursor (consumer group ``<group>-dlq-replay``), and consumers drop an event id they processed
before, so replaying again, or a replay cut short and run again, has no second effect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from fastapi import APIRouter
from prometheus_client import Counter

from shared.logging import get_logger
from shared.settings import KafkaSettings
from shared.topics import dead_letter_topic

log = get_logger(__name__)

REPLAYED = Counter("leadrouter_dlq_replayed_total", "Dead-lettered messages re-published to their origin topic.",
                   ["topic"])

#: Reasons whose bytes no code change can ever make readable: never worth replaying.
UNREPLAYABLE = frozenset({"tombstone", "too_deep", "undecodable"})

#: Headers shown by the status listing; values of the message itself are never shown.
_LISTED_HEADERS = ("error-class", "error-reason", "error", "origin-topic", "origin-partition", "origin-offset",
                   "event-id", "dead-lettered-at", "consumer-group")


def replay_group(group: str) -> str:
    return f"{group}-dlq-replay"


def _headers(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in (record.headers or ())}


def _belongs_to(record: ConsumerRecord, group: str) -> bool:
    """Two services may share a DLQ topic (both consume ``leads.activity``): each replays its own."""
    owner = _headers(record).get("consumer-group")
    return owner is None or owner == group


def _entry(record: ConsumerRecord) -> dict[str, Any]:
    headers = _headers(record)
    entry: dict[str, Any] = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    entry.update({name.replace("-", "_"): headers[name] for name in _LISTED_HEADERS if name in headers})
    entry["tombstone"] = record.value is None
    return entry


async def _read(settings: KafkaSettings, topics: Sequence[str], *, group_id: str | None,
                from_committed: bool) -> tuple[AIOKafkaConsumer, list[ConsumerRecord]]:
    """Every record of the DLQs of ``topics`` up to their current end (from the group's cursor if asked)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group_id,
                                client_id=f"{settings.kafka_client_id}-dlq", enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=5)
    try:
        await consumer.start()
        existing = await consumer.topics()
        partitions = [TopicPartition(dlq, p) for dlq in sorted({dead_letter_topic(t) for t in topics})
                      if dlq in existing for p in sorted(consumer.partitions_for_topic(dlq) or ())]
        records: list[ConsumerRecord] = []
        if not partitions:
            return consumer, records
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            committed = await consumer.committed(tp) if from_committed else None
            consumer.seek(tp, max(starts[tp], committed or 0))
        pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        deadline = asyncio.get_running_loop().time() + 60
        while pending and asyncio.get_running_loop().time() < deadline:
            for tp, batch in (await consumer.getmany(*pending, timeout_ms=500)).items():
                records.extend(r for r in batch if r.offset < ends[tp])
                if batch and batch[-1].offset >= ends[tp] - 1:
                    pending.discard(tp)
        return consumer, records
    except BaseException:
        await consumer.stop()
        raise


async def dlq_status(settings: KafkaSettings, *, group: str, topics: Sequence[str], recent: int = 20) -> dict[str, Any]:
    """Per DLQ topic: how many messages of ``group`` are parked, how many are not replayed yet, the latest few."""
    consumer, records = await _read(settings, topics, group_id=replay_group(group), from_committed=False)
    try:
        cursors = {tp: await consumer.committed(tp) or 0 for tp in consumer.assignment()}
    finally:
        await consumer.stop()
    out: dict[str, Any] = {}
    for dlq in sorted({dead_letter_topic(t) for t in topics}):
        mine = [r for r in records if r.topic == dlq and _belongs_to(r, group)]
        waiting = [r for r in mine if r.offset >= cursors.get(TopicPartition(dlq, r.partition), 0)]
        latest = sorted(mine, key=lambda r: r.timestamp, reverse=True)[:recent]
        out[dlq] = {"count": len(mine), "not_replayed": len(waiting), "recent": [_entry(r) for r in latest]}
    return {"group": group, "topics": out}


async def replay(settings: KafkaSettings, *, group: str, topics: Sequence[str], publisher: Any) -> dict[str, int]:
    """Re-publish every parked message of ``group`` not replayed before to its origin topic; then move the
    replay cursor past it. Messages that can never decode (``UNREPLAYABLE``) are skipped. A replayed message
    that fails again is parked again as a new entry, to be replayed after the next fix."""
    consumer, records = await _read(settings, topics, group_id=replay_group(group), from_committed=True)
    replayed = skipped = 0
    try:
        done: dict[TopicPartition, int] = {}
        for record in records:
            headers = _headers(record)
            tp = TopicPartition(record.topic, record.partition)
            if (record.value is None or headers.get("error-reason") in UNREPLAYABLE
                    or not _belongs_to(record, group)):
                skipped += 1
            else:
                origin = headers.get("origin-topic") or record.topic.removesuffix(".dlq")
                await publisher.send(origin, key=(record.key or b"").decode(errors="replace"), value=record.value,
                                     headers=[("replayed-from", f"{record.topic}/{record.partition}/{record.offset}"
                                               .encode())])
                REPLAYED.labels(topic=origin).inc()
                replayed += 1
            done[tp] = record.offset + 1
        if done:
            await consumer.commit(done)
    finally:
        await consumer.stop()
    log.info("dlq.replayed", group=group, replayed=replayed, skipped=skipped)
    return {"replayed": replayed, "skipped": skipped}


def dlq_router(*, settings: KafkaSettings, group: str, topics: Sequence[str], publisher: Any) -> APIRouter:
    """``GET /v1/admin/dlq`` and ``POST /v1/admin/dlq/replay`` for one consumer group (mount behind admin auth)."""
    router = APIRouter(prefix="/v1/admin/dlq", tags=["admin"])

    @router.get("")
    async def status() -> dict[str, Any]:
        """What this service dead-lettered: counts and the latest entries (error and origin, never the body)."""
        return await dlq_status(settings, group=group, topics=topics)

    @router.post("/replay")
    async def replay_all() -> dict[str, int]:
        """Re-inject what this service dead-lettered and has not replayed yet into its origin topics."""
        return await replay(settings, group=group, topics=topics, publisher=publisher)

    return router
