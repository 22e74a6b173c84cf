"""Reads the events the sla-monitor consumes and publishes (``leads.assigned``, ``leads.activity``,
``sla.alerts``) from the broker as they arrive, into the live feed, while somebody follows
``GET /v1/events/stream``.

It reads without a consumer group (every partition, from the end), so it takes nothing from the group that
does the work, and a client connected to any replica sees every event, whichever replica handled it."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import topics
from shared.events import CloudEvent
from shared.kafka import decode
from shared.logging import get_logger
from shared.settings import KafkaSettings
from shared.workers import Worker
from sla_monitor.live import LiveFeed

log = get_logger(__name__)

TAIL_TOPICS = (topics.LEADS_ASSIGNED, topics.LEADS_ACTIVITY, topics.SLA_ALERTS)


def event_view(event: CloudEvent) -> dict[str, Any]:
    """An event as the stream shows it: envelope essentials and its data without the lead's ``contact`` block."""
    data = {key: value for key, value in event.data.items() if key != "contact"}
    return {"id": event.id, "type": event.type, "time": event.time.isoformat(), "lead_id": event.subject,
            "data": data}


class EventTail(Worker):
    name = "sla.event_tail"

    def __init__(self, *, settings: KafkaSettings, feed: LiveFeed, poll_ms: int = 500) -> None:
        super().__init__()
        self._settings = settings
        self._feed = feed
        self._poll_ms = poll_ms
        self._consumer: AIOKafkaConsumer | None = None
        feed.on_first_subscriber = self.wake

    async def work(self) -> bool:
        if self._feed.subscribers == 0:
            await self._close()
            return False
        if self._consumer is None:
            self._consumer = await self._open()
            self._feed.tail_ready.set()
            log.info("sla.event_tail_started")
        batches = await self._consumer.getmany(timeout_ms=self._poll_ms)
        for records in batches.values():
            for record in records:
                try:
                    event = decode(record.value)
                except ValueError:
                    continue  # not an event: the consumer group dead-letters it; nothing to show here
                self._feed.publish(event_view(event))
        return True  # keep reading while somebody follows

    async def _open(self) -> AIOKafkaConsumer:
        """A consumer of every partition of the tailed topics, positioned at their ends now."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self._settings.kafka_bootstrap_servers,
                                    client_id=f"{self._settings.kafka_client_id}-tail", group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="latest", fetch_max_wait_ms=50)
        try:
            await consumer.start()
            await consumer.topics()  # fetches the metadata of every topic
            partitions = [TopicPartition(topic, p) for topic in TAIL_TOPICS
                          for p in sorted(consumer.partitions_for_topic(topic) or ())]
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for partition in partitions:  # resolve the end offsets now: what arrives from here on is shown
                await consumer.position(partition)
        except BaseException:
            await consumer.stop()
            raise
        return consumer

    async def stop(self) -> None:
        await super().stop()
        await self._close()

    async def _close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            self._feed.tail_ready.clear()
            await consumer.stop()
            log.info("sla.event_tail_stopped")
