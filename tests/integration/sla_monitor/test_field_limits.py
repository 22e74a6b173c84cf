"""An activity whose ``status`` and ``rep_id`` are as long as the event contract allows is stored by the monitor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from shared.db import create_engine
from shared.events import ActivityRecorded, CloudEvent, limits
from sla_monitor import tables
from tests.integration.sla_monitor.conftest import Monitor, assigned, clocks_of, send
from tests.support import eventually

LONGEST_REP = "r" * limits.MAX_REP_ID
LONGEST_STATUS = "s" * limits.MAX_STATUS


def _activity(lead_id: str, activity_id: str, **fields: object) -> CloudEvent:
    now = datetime.now(UTC)
    data = ActivityRecorded.model_validate({"lead_id": lead_id, "activity_id": activity_id, "rep_id": LONGEST_REP,
                                            "occurred_at": now, "received_at": now, **fields})
    return CloudEvent.wrap(data, source="test/intake")


async def test_the_longest_status_and_rep_id_are_stored_and_meet_the_clock(monitor: Monitor) -> None:
    lead_id = str(uuid.uuid4())
    await send(monitor.kafka, assigned(lead_id, urgency="warm", rep_id=LONGEST_REP,
                                       at=datetime.now(UTC) - timedelta(seconds=1)))
    await send(monitor.kafka, _activity(lead_id, "a" * limits.MAX_ACTIVITY_ID, type="status_change",
                                        status=LONGEST_STATUS))
    await send(monitor.kafka, _activity(lead_id, "call-1", type="call", direction="outbound"))
    await eventually(clocks_of(monitor, lead_id, state="met"), what="the clock to be met")

    engine = create_engine(monitor.settings.sla_monitor_database_url)
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(select(tables.touches.c.status, tables.touches.c.rep_id)
                                         .where(tables.touches.c.lead_id == lead_id))).all()
    finally:
        await engine.dispose()
    assert (LONGEST_STATUS, LONGEST_REP) in {(row.status, row.rep_id) for row in stored}
