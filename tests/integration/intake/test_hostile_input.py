"""Hostile or malformed input to intake is a 4xx naming the problem, never a 500, and stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intake import tables
from intake.signatures import sign
from shared.events import limits
from tests.integration.intake.conftest import WEBHOOK_SECRET, Intake, count_rows
from tests.integration.intake.test_activities_api import CALL, signed


def deep(levels: int) -> bytes:
    return b'{"leads": ' + b"[" * levels + b"]" * levels + b"}"


# 60k levels for the batch route; the single-lead and webhook routes take 64 KiB, so 30k closed or 60k open.
DEEP = {"/v1/leads": deep(30_000), "/v1/leads/batch": deep(60_000)}
HUGE_INT = b'{"email": "a@example.com", "source": "web_form", "employees": ' + b"9" * 5_000 + b"}"


@pytest.mark.parametrize("path", ["/v1/leads", "/v1/leads/batch"])
async def test_json_nested_60k_deep_or_with_a_5000_digit_number_is_a_422(intake: Intake, path: str) -> None:
    json_headers = {"Content-Type": "application/json"}
    nested = await intake.http.post(path, content=DEEP[path], headers=json_headers)
    unclosed = await intake.http.post(path, content=b"[" * 60_000, headers=json_headers)
    huge = await intake.http.post(path, content=HUGE_INT, headers=json_headers)
    for answer in (nested, unclosed):
        assert answer.status_code == 422 and "nested deeper" in answer.json()["detail"]
    assert huge.status_code == 422 and "5000 digits" in huge.json()["detail"]
    assert await count_rows(intake, tables.leads) == 0


async def test_a_crm_webhook_nested_60k_deep_or_with_a_huge_number_is_a_422(intake: Intake) -> None:
    for body in (b"[" * 30_000 + b"]" * 30_000, b"[" * 60_000, b'{"activity_id": ' + b"7" * 5_000 + b"}"):
        answer = await intake.http.post("/v1/activities", **signed_raw(body))
        assert answer.status_code == 422, answer.text
        assert {e["field"] for e in answer.json()["errors"]} == {"body"}
    assert await count_rows(intake, tables.activities) == 0


def signed_raw(body: bytes) -> dict[str, object]:
    timestamp = str(int(datetime.now(UTC).timestamp()))
    return {"content": body, "headers": {"Content-Type": "application/json", "X-Webhook-Timestamp": timestamp,
                                         "X-Webhook-Signature": sign(WEBHOOK_SECRET, timestamp, body)}}


async def test_nul_characters_or_lone_surrogates_anywhere_are_a_422_naming_the_field(intake: Intake) -> None:
    as_json = await intake.http.post("/v1/leads", json={"email": "a@example.com", "source": "web_form",
                                                         "company": "Fin\u0000tastic"})
    as_form = await intake.http.post("/v1/leads", content=b"email=a%40example.com&source=web_form&company=A%00B",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    as_csv = await intake.http.post("/v1/leads/batch", content=b"email,source,company\na@example.com,web_form,A\x00B\n",
                                    headers={"Content-Type": "text/csv"})
    surrogate = await intake.http.post("/v1/leads", content=b'{"email": "a@example.com", "source": "web_form", '
                                       b'"company": "\\ud800"}', headers={"Content-Type": "application/json"})
    read = await intake.http.get("/v1/leads/abc%00def")
    assert as_json.status_code == 422 and "company" in as_json.json()["detail"]
    assert as_form.status_code == 422 and {e["field"] for e in as_form.json()["errors"]} == {"company"}
    assert surrogate.status_code == 422 and surrogate.json()["errors"][0]["field"] == "company"
    assert as_csv.status_code == 200 and as_csv.json()["rejected"][0]["errors"][0]["field"] == "company"
    assert read.status_code == 422 and read.json()["errors"][0]["field"].endswith("lead_id")
    assert await count_rows(intake, tables.leads) == 0


async def test_an_activity_with_a_nul_character_is_a_422_and_stores_nothing(intake: Intake) -> None:
    lead_id = (await intake.http.post("/v1/leads", json={"email": "nul@example.com", "source": "web_form"})
               ).json()["lead_id"]
    answer = await intake.http.post("/v1/activities", **signed({**CALL, "lead_id": lead_id, "rep_id": "rep\x00a"}))
    assert answer.status_code == 422 and "rep_id" in answer.json()["detail"]
    assert await count_rows(intake, tables.activities) == 0


async def test_a_captured_at_in_the_future_is_refused_beyond_five_seconds_of_skew(intake: Intake) -> None:
    now = datetime.now(UTC)
    lead = {"email": "scan@example.com", "source": "badge_scan"}
    future = await intake.http.post("/v1/leads", json={**lead, "captured_at": (now + timedelta(hours=1)).isoformat()})
    skewed = await intake.http.post("/v1/leads", json={**lead, "captured_at": (now + timedelta(seconds=2)).isoformat()})
    past = await intake.http.post("/v1/leads", json={**lead, "captured_at": (now - timedelta(hours=3)).isoformat()})
    batch = await intake.http.post("/v1/leads/batch", json={"leads": [
        {**lead, "captured_at": (now + timedelta(days=1)).isoformat()}]})
    assert future.status_code == 422
    assert [e["field"] for e in future.json()["errors"]] == ["captured_at"]
    assert "future" in future.json()["errors"][0]["message"]
    assert skewed.status_code == 202 and past.status_code == 202
    assert batch.json()["rejected"][0]["errors"][0]["field"] == "captured_at"


async def test_the_longest_status_and_rep_id_pass_and_one_more_character_is_a_422(intake: Intake) -> None:
    lead_id = (await intake.http.post("/v1/leads", json={"email": "wide@example.com", "source": "web_form"})
               ).json()["lead_id"]
    longest = {**CALL, "activity_id": "w-1", "lead_id": lead_id, "type": "status_change",
               "status": "s" * limits.MAX_STATUS, "rep_id": "r" * limits.MAX_REP_ID}
    ok = await intake.http.post("/v1/activities", **signed(longest))
    long_status = await intake.http.post("/v1/activities", **signed(
        {**longest, "activity_id": "w-2", "status": "s" * (limits.MAX_STATUS + 1)}))
    long_rep = await intake.http.post("/v1/activities", **signed(
        {**longest, "activity_id": "w-3", "rep_id": "r" * (limits.MAX_REP_ID + 1)}))
    assert ok.status_code == 202
    assert long_status.status_code == 422 and [e["field"] for e in long_status.json()["errors"]] == ["status"]
    assert long_rep.status_code == 422 and [e["field"] for e in long_rep.json()["errors"]] == ["rep_id"]
    assert await count_rows(intake, tables.activities) == 1


async def test_an_invalid_email_is_named_without_echoing_the_address(intake: Intake) -> None:
    answer = await intake.http.post("/v1/leads", json={"email": "ana.secret@@example.com", "source": "web_form"})
    assert answer.status_code == 422
    assert "ana.secret" not in answer.text


async def test_an_unknown_source_is_counted_as_other_in_metrics(intake: Intake) -> None:
    await intake.http.post("/v1/leads", json={"email": "src@example.com", "source": "ana_ruiz_555_0134"})
    metrics = (await intake.http.get("/metrics")).text
    assert "ana_ruiz_555_0134" not in metrics
    assert 'leadrouter_intake_leads_accepted_total{source="other"}' in metrics
