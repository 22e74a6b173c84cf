"""Over the real broker: the fastest reps are not reported late because their CRM rounds to whole seconds,
and a meeting booked for next week meets the clock when it was booked, never breaching it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared import topics
from shared.events import ActivityRecorded, CloudEvent
from tests.integration.sla_monitor.conftest import Monitor, activity, assigned, clocks_of, send
from tests.support import TopicReader, eventually


def _whole_second_before(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


async def test_a_touch_dated_in_the_same_second_as_the_assignment_meets_the_clock_and_never_breaches(
        monitor: Monitor) -> None:
    start = datetime.now(UTC).replace(microsecond=900_000)  # the CRM will report 0.9 s "before" it
    await send(monitor.kafka, assigned("same-second", at=start))
    await send(monitor.kafka, activity("same-second", "call-0", at=_whole_second_before(start)))
    # and the activity overtaking its assignment (another topic) is matched the same way
    await send(monitor.kafka, activity("overtaken", "call-1", at=_whole_second_before(start)))
    await send(monitor.kafka, assigned("overtaken", at=start))
    for lead in ("same-second", "overtaken"):
        [clock] = await eventually(clocks_of(monitor, lead, state="met"), what=f"{lead} met")
        assert clock["response_seconds"] == 0.0 and clock["breached_at"] is None

    async with TopicReader(monitor.kafka, topics.SLA_ALERTS) as reader:
        await send(monitor.kafka, assigned("witness"))  # proves the ticker ran past both leads' due time
        await reader.wait_for(lambda e: e.type == "sla.breached" and e.subject == "witness")
        assert [e for e in reader.events if e.type == "sla.breached" and e.subject != "witness"] == []


async def test_a_meeting_dated_next_week_meets_the_clock_when_it_arrived_and_fires_no_breach(
        monitor: Monitor) -> None:
    start = datetime.now(UTC)
    await send(monitor.kafka, assigned("booked", at=start))
    arrived = start + timedelta(milliseconds=200)
    meeting = ActivityRecorded(lead_id="booked", activity_id="meeting-1", type="meeting", direction="outbound",
                               rep_id="rep-a", occurred_at=start + timedelta(days=7), received_at=arrived)
    await send(monitor.kafka, CloudEvent.wrap(meeting, source="test/intake"))
    [clock] = await eventually(clocks_of(monitor, "booked", state="met"), what="the clock met")
    assert abs(clock["response_seconds"] - 0.2) < 0.01 and clock["breached_at"] is None
    async with TopicReader(monitor.kafka, topics.SLA_ALERTS) as reader:
        await send(monitor.kafka, assigned("witness-2"))
        await reader.wait_for(lambda e: e.type == "sla.breached" and e.subject == "witness-2")
        assert [e for e in reader.events if e.subject == "booked" and e.type == "sla.breached"] == []
