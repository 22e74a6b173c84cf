"""Two router instances in one consumer group over a 6-partition topic: every lead is assigned exactly once,
and round robin stays fair because the rotation cursor is shared and updated atomically in the database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lead_router.main import create_app
from shared import topics
from shared.events import parse_data
from tests.conftest import DatabaseFactory
from tests.integration.lead_router.conftest import migrated, router_settings, send_lead, write_document
from tests.support import TopicReader, eventually, serve

LEADS = 60


async def test_two_instances_never_assign_a_lead_twice_and_keep_round_robin_fair(
        databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> None:
    settings = router_settings(await migrated(databases), kafka_bootstrap, write_document(tmp_path))
    first, second = create_app(settings), create_app(settings)
    async with serve(first), serve(second):
        async def split() -> bool:
            a, b = first.state.consumer.assigned_partitions, second.state.consumer.assigned_partitions
            return bool(a) and bool(b) and not (a & b) and len(a | b) == settings.kafka_topic_partitions

        await eventually(split, timeout=30, what="both instances to share the partitions")
        for i in range(LEADS):
            await send_lead(kafka_bootstrap, f"lead-{i:03d}", country="US", intent="demo_request")
        async with TopicReader(kafka_bootstrap, topics.LEADS_ASSIGNED) as reader:
            events = await reader.wait_for(lambda e: True, count=LEADS, timeout=60)
            events = await reader.poll()
    assert len(events) == LEADS
    assert len({e.subject for e in events}) == LEADS
    reps = Counter(parse_data(e).rep_id for e in events)  # type: ignore[attr-defined]
    assert sorted(reps.values()) == [20, 20, 20]
