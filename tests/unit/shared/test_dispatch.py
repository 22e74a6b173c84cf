"""Consumers route events by the class of their data; events for other consumers pass by untouched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.dispatch import dispatch
from shared.events import ActivityRecorded, CloudEvent, LeadReceived, SlaMet


def _received(lead_id: str) -> CloudEvent:
    return CloudEvent.wrap(LeadReceived(lead_id=lead_id, source="web_form", received_at=datetime.now(UTC)),
                           source="test")


async def test_an_event_reaches_the_handler_of_its_class_with_its_context() -> None:
    seen: list[tuple[Any, ...]] = []

    async def on_received(data: LeadReceived, *, event: CloudEvent, session: Any, partition: int) -> None:
        seen.append((type(data), data.lead_id, event.id, session, partition))

    async def on_activity(data: ActivityRecorded, **_: object) -> None:
        raise AssertionError("not an activity")

    handle = dispatch({LeadReceived: on_received, ActivityRecorded: on_activity})
    event = _received("lead-1")
    await handle(event, "the-session", 3)  # type: ignore[arg-type]
    assert seen == [(LeadReceived, "lead-1", event.id, "the-session", 3)]


async def test_events_the_table_does_not_name_are_ignored_even_unknown_types() -> None:
    async def never(data: Any, **_: object) -> None:
        raise AssertionError("called")

    handle = dispatch({SlaMet: never})
    await handle(_received("lead-2"), None, 0)  # type: ignore[arg-type]
    odd = _received("lead-3").model_copy(update={"type": "something.new"})
    await handle(odd, None, 0)  # type: ignore[arg-type]


async def test_data_that_does_not_validate_raises_for_the_dead_letter_topic() -> None:
    async def on_received(data: LeadReceived, **_: object) -> None:
        raise AssertionError("called")

    bad = _received("lead-4").model_copy(update={"data": {"lead_id": "lead-4"}})
    with pytest.raises(ValidationError):
        await dispatch({LeadReceived: on_received})(bad, None, 0)  # type: ignore[arg-type]
