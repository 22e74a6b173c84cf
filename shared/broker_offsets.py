"""Read a Kafka cluster's end offsets (any Kafka-compatible broker; nothing here depends on one product)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.settings import KafkaSettings


async def end_offsets(settings: KafkaSettings, topics: Sequence[str], *,
                      timeout: float = 10.0) -> dict[tuple[str, int], int]:
    """``{(topic, partition): next offset to be written}`` for ``topics``; a missing topic has no entries.

    Raises when the broker does not answer within ``timeout`` (then nothing can be concluded)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                client_id=f"{settings.kafka_client_id}-offsets", enable_auto_commit=False,
                                request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(consumer.start(), timeout=timeout)
        existing = await asyncio.wait_for(consumer.topics(), timeout=timeout)
        partitions = [TopicPartition(topic, p) for topic in topics if topic in existing
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return {}
        ends = await asyncio.wait_for(consumer.end_offsets(partitions), timeout=timeout)
        return {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}
    finally:
        await consumer.stop()
