"""A full run, errors included (bad input, a failing batch, a database error, poison on every topic), with every
service's stdout and stderr captured: no email address or phone number we sent appears in any line."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from intake.signatures import sign
from shared import topics
from tests.e2e.conftest import CREDENTIALS, Stack
from tests.support import eventually

pytestmark = pytest.mark.e2e

API_KEY = {"X-API-Key": CREDENTIALS["INTAKE_API_KEYS"].split(":")[1]}
DOMAIN = "leak-probe.example.org"
ADMIN = {"Authorization": f"Bearer {CREDENTIALS['ADMIN_TOKEN']}"}


class Pii:
    """Unique emails and phone numbers for this run, and every spelling of them a log line could hold."""

    def __init__(self) -> None:
        self.run = uuid.uuid4().hex[:10]
        self.emails: list[str] = []
        self.phones: list[str] = []  # digits only

    def email(self, what: str) -> str:
        address = f"pii-{what}-{self.run}@{DOMAIN}"
        self.emails.append(address)
        return address

    def phone(self) -> str:
        number = f"415{len(self.phones) + 1:03d}{int(self.run[:4], 16) % 10000:04d}"
        self.phones.append("1" + number)
        return f"+1 ({number[:3]}) {number[3:6]}-{number[6:]}"

    def hits(self, line: str) -> list[str]:
        lowered = line.lower()
        # Whole, or any part a formatter keeps when it shortens a value ("pii-x...leak-probe.example.org").
        found = [e for e in self.emails if e.lower() in lowered or e.split("@")[0].lower() in lowered]
        if DOMAIN in lowered or self.run in lowered:
            found.append(f"part of an email (@{DOMAIN})")
        digits = re.sub(r"\D", "", line)
        found += [p for p in self.phones if p[1:] in digits]
        return found


def _lead(pii: Pii, what: str, **overrides: object) -> dict[str, object]:
    return {"first_name": "Probe", "last_name": what, "email": pii.email(what), "phone": pii.phone(),
            "company": "Leakless", "country": "US", "industry": "fintech", "employees": 1200,
            "source": "web_form", "intent": "demo_request", **overrides}


async def _signed_activity(http: httpx.AsyncClient, stack: Stack, payload: dict[str, object]) -> httpx.Response:
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    return await http.post(stack.url("intake", "/v1/activities"), content=body, headers={
        "Content-Type": "application/json", "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": sign(CREDENTIALS["CRM_WEBHOOK_SECRET"], timestamp, body)})


async def test_no_email_or_phone_reaches_any_log_line(stack: Stack) -> None:
    pii = Pii()
    async with httpx.AsyncClient(timeout=30) as http:
        # Good leads, assigned end to end.
        good = []
        for i in range(5):
            answer = await http.post(stack.url("intake", "/v1/leads"), json=_lead(pii, f"good{i}"), headers=API_KEY)
            assert answer.status_code == 202, answer.text
            good.append(answer.json()["lead_id"])

        # Bad input that echoes the email and phone back in validation errors.
        bad_inputs = [
            _lead(pii, "bad-employees", employees="lots"),
            _lead(pii, "bad-country", country=["US"]),
            _lead(pii, "bad-captured", captured_at="yesterday"),
            {"email": pii.email("not-an-email") + "@@", "phone": pii.phone() + "x" * 40},
        ]
        for payload in bad_inputs:
            answer = await http.post(stack.url("intake", "/v1/leads"), json=payload, headers=API_KEY)
            assert 400 <= answer.status_code < 500, answer.status_code
        await http.post(stack.url("intake", "/v1/leads"), headers={**API_KEY, "Content-Type": "application/json"},
                        content=b'{"email": "' + pii.email("broken-json").encode() + b'", "phone": ')
        form = f"email={pii.email('form')}&phone={pii.phone()}&employees=many"
        await http.post(stack.url("intake", "/v1/leads"), content=form,
                        headers={**API_KEY, "Content-Type": "application/x-www-form-urlencoded"})
        csv = "email,phone,employees,country\n" + "\n".join(
            f"{pii.email(f'batch{i}')},{pii.phone()},{'x' if i % 2 else 10},US" for i in range(6))
        await http.post(stack.url("intake", "/v1/leads/batch"), content=csv,
                        headers={**API_KEY, "Content-Type": "text/csv"})
        # Unauthenticated and wrongly signed requests carrying PII.
        await http.post(stack.url("intake", "/v1/leads"), json=_lead(pii, "no-key"))
        await http.post(stack.url("intake", "/v1/activities"),
                        json={"lead_id": good[0], "outcome": pii.email("unsigned")},
                        headers={"X-Webhook-Timestamp": "1", "X-Webhook-Signature": "v1=00"})

        # Activities whose free text holds PII, one too wide for the sla-monitor's column (a database error
        # on PostgreSQL), one invalid.
        await _signed_activity(http, stack, {
            "activity_id": f"a-{pii.run}-1", "lead_id": good[0], "type": "status_change", "direction": "outbound",
            "rep_id": "rep-x", "occurred_at": datetime.now(UTC).isoformat(),
            "status": ("called " + pii.email("status") + " at " + pii.phone() + " ").ljust(200, "."),
            "outcome": "left a message for " + pii.email("outcome")})
        await _signed_activity(http, stack, {
            "activity_id": f"a-{pii.run}-2", "lead_id": good[1], "type": "call", "direction": "outbound",
            "rep_id": ("rep-" + pii.email("rep")).ljust(150, "x"), "occurred_at": datetime.now(UTC).isoformat()})
        await _signed_activity(http, stack, {"activity_id": f"a-{pii.run}-3", "lead_id": good[2], "type": "fax",
                                             "occurred_at": "now", "outcome": pii.email("bad-activity")})

        # Poison carrying PII on every consumed topic: invalid JSON, and a valid envelope with invalid data.
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
        await producer.start()
        try:
            for topic in (topics.LEADS_RECEIVED, topics.LEADS_ASSIGNED, topics.LEADS_ACTIVITY, topics.SLA_ALERTS):
                email, phone = pii.email(f"poison-{topic}"), pii.phone()
                await producer.send_and_wait(topic, key=b"poison",
                                             value=f'{{"email": "{email}", "phone": "{phone}", '.encode())
                lead_id = str(uuid.uuid4())
                envelope = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "probe", "subject": lead_id,
                            "type": {"leads.received": "lead.received", "leads.assigned": "lead.assigned",
                                     "leads.activity": "activity.recorded", "sla.alerts": "sla.breached"}[topic],
                            "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json",
                            "data": {"lead_id": lead_id, "email": pii.email(f"envelope-{topic}"),
                                     "phone": pii.phone(), "employees": {"n": pii.email(f"nested-{topic}")},
                                     "occurred_at": pii.email(f"date-{topic}")}}
                await producer.send_and_wait(topic, key=lead_id.encode(), value=json.dumps(envelope).encode())
        finally:
            await producer.stop()

        async def all_assigned() -> bool:
            for lead_id in good:
                answer = await http.get(stack.url("router", f"/v1/assignments/{lead_id}"), headers=ADMIN)
                if answer.status_code != 200:
                    return False
            return True

        await eventually(all_assigned, timeout=60, what="the good leads to be assigned")
        await asyncio.sleep(10)  # let consumers retry, dead-letter and log what they do with the poison

    hits: list[str] = []
    lines = 0
    for log in sorted(stack.logs.glob("*.log")):
        for number, line in enumerate(log.read_text(errors="replace").splitlines(), 1):
            lines += 1
            if found := pii.hits(line):
                hits.append(f"{log.name}:{number}: {found[0]} in {line[:300]}")
    print(f"\nPII[logs] lines={lines} emails_sent={len(pii.emails)} phones_sent={len(pii.phones)} "  # noqa: T201
          f"hits={len(hits)}")
    assert lines > 0
    assert hits == [], f"{len(hits)} log lines hold PII we sent:\n" + "\n".join(hits[:20])
