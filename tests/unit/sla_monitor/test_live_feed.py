"""The live feed: the board version a watcher waits on, and events handed to every subscriber, a slow one
losing events (and being told) instead of holding anyone up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shared.events import CloudEvent, LeadAssigned, LeadContact, LeadSummary
from sla_monitor.event_stream import sse_message
from sla_monitor.event_tail import event_view
from sla_monitor.live import LiveFeed


async def test_a_board_watcher_wakes_on_a_change_and_not_otherwise() -> None:
    feed = LiveFeed()
    seen = feed.board_version
    assert await feed.wait_board(seen, timeout=0) == seen  # nothing changed: back after the timeout
    waiting = asyncio.create_task(feed.wait_board(seen, timeout=30))
    await asyncio.sleep(0)
    assert not waiting.done()
    feed.board_changed()
    assert await waiting == seen + 1
    feed.board_changed()
    assert await feed.wait_board(seen, timeout=30) == seen + 2  # a change missed while away is seen at once


async def test_events_reach_every_subscriber_and_a_full_queue_drops_and_counts() -> None:
    feed = LiveFeed(queue_size=2)
    started: list[str] = []
    feed.on_first_subscriber = lambda: started.append("tail")
    async with feed.subscribe() as fast, feed.subscribe() as slow:
        assert started == ["tail"] and feed.subscribers == 2
        for number in range(3):
            feed.publish({"id": str(number), "type": "activity.recorded"})
            if number < 2:
                assert (await fast.queue.get())["id"] == str(number)
        assert (await fast.queue.get())["id"] == "2" and fast.dropped == 0
        assert [slow.queue.get_nowait()["id"] for _ in range(2)] == ["0", "1"] and slow.dropped == 1
    assert feed.subscribers == 0


def test_sla_events_and_assignments_change_the_board_activities_do_not() -> None:
    feed = LiveFeed()
    feed.publish({"id": "1", "type": "activity.recorded"})
    assert feed.board_version == 0
    for number, kind in enumerate(["sla.breached", "sla.warning", "sla.met", "lead.assigned"], start=1):
        feed.publish({"id": kind, "type": kind})
        assert feed.board_version == number


def test_an_event_on_the_stream_has_no_contact_block_and_is_one_sse_message() -> None:
    data = LeadAssigned(lead_id="lead-1", team="na", rep_id="rep-a", urgency="hot", rule_id="r1",
                        explanation=["x"], assigned_at=datetime(2026, 11, 27, tzinfo=UTC),
                        lead=LeadSummary(company="Acme\nCorp"), contact=LeadContact(email="ana@example.com"))
    event = CloudEvent.wrap(data, source="test", event_id="evt-1", time=datetime(2026, 11, 27, 10, tzinfo=UTC))
    view = event_view(event)
    assert view["id"] == "evt-1" and view["type"] == "lead.assigned" and view["lead_id"] == "lead-1"
    assert view["time"] == "2026-11-27T10:00:00+00:00" and "contact" not in view["data"]
    message = sse_message(view)
    assert message.startswith("id: evt-1\nevent: lead.assigned\ndata: {") and message.endswith("}\n\n")
    assert message.count("\n") == 4  # a newline in the data is escaped inside the one JSON line
    assert sse_message({"id": "a\nb", "type": "t\r"})[:20] == "id: a b\nevent: t \nda"


async def test_closing_the_feed_ends_every_stream() -> None:
    from sla_monitor.console.board import board_changes
    from sla_monitor.event_stream import event_messages

    feed = LiveFeed(queue_size=2)
    feed.tail_ready.set()
    board = board_changes(feed, keepalive=30)
    events = event_messages(feed, keepalive=30)
    assert await anext(board) == "retry: 2000\n\n"
    assert (await anext(events)).startswith(": following")
    feed.publish({"id": "1", "type": "activity.recorded"})  # sent before the stream ends
    pending_board = asyncio.ensure_future(anext(board))
    feed.close()
    assert [message async for message in events] == [sse_message({"id": "1", "type": "activity.recorded"})]
    with pytest.raises(StopAsyncIteration):  # the board stream ends with the feed
        await pending_board
    assert feed.board_watchers == 0 and feed.subscribers == 0
