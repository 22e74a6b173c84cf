"""The CRM webhook: signed, fresh, deduplicated by ``activity_id``, and published as ``activity.recorded``."""

from __future__ import annotations

import json
import time

from intake import tables
from intake.signatures import sign
from shared import topics
from shared.events import ActivityRecorded, parse_data
from tests.integration.intake.conftest import WEBHOOK_SECRET, Intake, count_rows
from tests.support import TopicReader


def signed(payload: dict[str, object], *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> dict[str, object]:
    body = json.dumps(payload).encode()
    timestamp = str(at if at is not None else int(time.time()))
    return {"content": body, "headers": {"Content-Type": "application/json", "X-Webhook-Timestamp": timestamp,
                                         "X-Webhook-Signature": sign(secret, timestamp, body)}}


async def _lead(intake: Intake, email: str) -> str:
    answer = await intake.http.post("/v1/leads", json={"email": email, "source": "web_form"})
    return str(answer.json()["lead_id"])


CALL = {"activity_id": "crm-1", "type": "call", "direction": "outbound", "rep_id": "rep-ana",
        "occurred_at": "2026-11-25T09:05:00+01:00", "outcome": "connected"}


async def test_a_signed_activity_found_by_email_is_published_once_even_when_repeated(intake: Intake) -> None:
    lead_id = await _lead(intake, "ana@example.com")
    first = await intake.http.post("/v1/activities", **signed({**CALL, "email": "Ana@Example.com"}))
    again = await intake.http.post("/v1/activities", **signed({**CALL, "email": "ana@example.com"}))
    assert first.status_code == 202 and first.json() == {"activity_id": "crm-1", "lead_id": lead_id,
                                                         "status": "accepted"}
    assert again.status_code == 202 and again.json()["status"] == "duplicate"

    async with TopicReader(intake.kafka, topics.LEADS_ACTIVITY) as reader:
        [event] = await reader.wait_for(lambda e: e.subject == lead_id)
    data = parse_data(event)
    assert isinstance(data, ActivityRecorded)
    assert data.is_outbound_touch and data.rep_id == "rep-ana" and data.lead_id == lead_id
    assert await count_rows(intake, tables.activities) == 1


async def test_a_wrong_signature_or_a_stale_timestamp_is_refused(intake: Intake) -> None:
    lead_id = await _lead(intake, "bo@example.com")
    payload = {**CALL, "lead_id": lead_id}
    wrong_secret = await intake.http.post("/v1/activities", **signed(payload, secret="guess"))
    stale = await intake.http.post("/v1/activities", **signed(payload, at=int(time.time()) - 301))
    unsigned = await intake.http.post("/v1/activities", json=payload)
    assert [r.status_code for r in (wrong_secret, stale, unsigned)] == [401, 401, 401]
    assert "timestamp" in stale.json()["detail"].lower()
    assert await count_rows(intake, tables.activities) == 0


async def test_an_activity_for_an_unknown_lead_or_with_bad_fields_is_a_422_naming_the_field(intake: Intake) -> None:
    unknown = await intake.http.post("/v1/activities", **signed({**CALL, "lead_id": "no-such-lead"}))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "lead_id"
    bad = await intake.http.post("/v1/activities", **signed({**CALL, "lead_id": "x", "type": "fax",
                                                             "occurred_at": "yesterday"}))
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"type", "occurred_at"}
