"""Email to the rep through the real SLA monitor (database, broker, delivery worker) and a real SMTP server
(aiosmtpd): each assignment emailed once, in plain text and HTML with lead text escaped; retried while the
server is down without holding up Slack; a refused recipient failing its own delivery alone, visible per lead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared import topics
from shared.events import AssignedRep, CloudEvent, LeadAssigned, LeadContact, LeadSummary
from sla_monitor.main import create_app
from sla_monitor.settings import SlaMonitorSettings
from tests.conftest import DatabaseFactory
from tests.integration.sla_monitor.conftest import (
    ADMIN,
    FAST_POLICIES,
    Receiver,
    clocks_of,
    consuming,
    migrated,
    monitor_settings,
)
from tests.mailbox import Mailbox, Received, login
from tests.support import eventually, serve

XSS = "<img src=x onerror=alert(1)>"
PASSWORD = "smtp-pa55word"


@dataclass
class Emailing:
    http: httpx.AsyncClient
    settings: SlaMonitorSettings
    kafka: str
    mailbox: Mailbox
    receiver: Receiver
    hook_url: str


@pytest.fixture
async def emailing(databases: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Emailing]:
    """An SLA monitor emailing through a running mailbox that asks for a login. The mailbox binds its port
    before anything else starts, so no other socket (another test worker, a Kafka client) can take it."""
    policies = tmp_path / "policies.yaml"
    policies.write_text(FAST_POLICIES)
    mailbox = Mailbox()
    await start(mailbox)
    settings = monitor_settings(await migrated(databases), kafka_bootstrap, policies,
                                smtp_url=f"smtp://leadrouter:{PASSWORD}@127.0.0.1:{mailbox.port}",
                                smtp_from="Lead Desk <leads@mail.example.com>", smtp_timeout_seconds=5,
                                delivery_max_retry_seconds=1)
    receiver = Receiver()
    app = create_app(settings)
    try:
        async with serve(receiver.app()) as hook_base, serve(app) as base_url, \
                httpx.AsyncClient(base_url=base_url, headers=ADMIN) as http:
            await consuming(app)
            yield Emailing(http, settings, kafka_bootstrap, mailbox, receiver, hook_base + "/hook")
    finally:
        await mailbox.stop()


async def start(mailbox: Mailbox) -> None:
    if mailbox._controller is not None:  # already listening
        return
    await mailbox.start(authenticator=login("leadrouter", PASSWORD), auth_require_tls=False)


def _assigned(lead_id: str, *, rep_email: str | None = "rita@example.com", rep_id: str = "rep-rita",
              reason: str = "initial", **lead: Any) -> CloudEvent:
    summary = {"first_name": "Ana", "last_name": "Ruiz", "company": "Fintastic", "source": "web_form",
               "campaign": "q4", **lead}
    data = LeadAssigned(lead_id=lead_id, team="na", rep_id=rep_id, urgency="warm", rule_id="r1",  # type: ignore[arg-type]
                        explanation=["test"], assigned_at=datetime.now(UTC), reason=reason,  # type: ignore[arg-type]
                        lead=LeadSummary(**summary), rep=AssignedRep(name="Rita Rep", email=rep_email),
                        contact=LeadContact(email="ana@lead.example.org", phone="+14155550100"))
    return CloudEvent.wrap(data, source="test/router")


async def publish_together(kafka: str, *events: CloudEvent) -> None:
    """Produce ``events`` in one go (one request, so the SLA monitor reads them in one batch)."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=100)
    await producer.start()
    try:
        sent = [await producer.send(topics.LEADS_ASSIGNED, e.to_bytes(), key=e.subject.encode()) for e in events]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def emails(mailbox: Mailbox, count: int) -> Callable[[], Any]:
    async def probe() -> list[Received] | None:
        return list(mailbox.received) if len(mailbox.received) >= count else None

    return probe


def email_deliveries(env: Emailing, lead_id: str, *, when: Callable[[list[dict[str, Any]]], bool]) -> Callable[[], Any]:
    async def probe() -> list[dict[str, Any]] | None:
        answer = await env.http.get(f"/v1/leads/{lead_id}/deliveries")
        assert answer.status_code == 200, answer.text
        found = [d for d in answer.json()["deliveries"] if d["channel"] == "email"]
        return found if found and when(found) else None

    return probe


async def test_an_assignment_emails_the_rep_once_in_plain_text_and_html_with_lead_text_escaped(
        emailing: Emailing) -> None:
    await start(emailing.mailbox)
    event = _assigned("mail-1", first_name=XSS, company="Acme\r\nBcc: x@evil.example")
    await publish_together(emailing.kafka, event, event)  # the same event twice: handled, and emailed, once
    [received] = await eventually(emails(emailing.mailbox, 1), what="the rep's email")
    [entry] = await eventually(email_deliveries(emailing, "mail-1", when=lambda d: d[0]["state"] == "delivered"),
                               what="the email delivery logged as delivered")
    assert entry["attempts"] == 1 and entry["last_status"] == 250 and entry["subscription_id"] == "builtin-email"
    assert received.rcpt_tos == ["rita@example.com"] and received.mail_from == "leads@mail.example.com"
    message = received.message
    assert message["From"] == "Lead Desk <leads@mail.example.com>" and message["To"] == "rita@example.com"
    assert message["Message-ID"].strip() == f"<{event.id}@mail.example.com>" and "Bcc" not in message
    assert message["Subject"] == f"New lead for you: {XSS} Ruiz at Acme Bcc: x@evil.example (warm)"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = (part.get_content() for part in message.iter_parts())  # type: ignore[attr-defined]
    [clock] = await eventually(clocks_of(emailing, "mail-1"), what="the clock")  # type: ignore[arg-type]
    due = datetime.fromisoformat(clock["due_at"])
    for part in (f"New lead for you: {XSS} Ruiz at Acme Bcc: x@evil.example.", "Campaign:            q4",
                 f"First response due:  {due:%Y-%m-%d %H:%M} UTC (in 24 h)",
                 "Email:               ana@lead.example.org", "Phone:               +14155550100",
                 "Open the lead: http://127.0.0.1:8000/v1/leads/mail-1"):
        assert part in plain, part
    assert "&lt;img src=x onerror=alert(1)&gt; Ruiz at Acme Bcc: x@evil.example" in html and "<img" not in html
    assert '<a href="http://127.0.0.1:8000/v1/leads/mail-1">Open the lead</a>' in html
    await asyncio.sleep(1)  # more delivery rounds and retries would have had time to send it again
    assert len(emailing.mailbox.received) == 1
    [target] = [s for s in (await emailing.http.get("/v1/subscriptions")).json()["subscriptions"]
                if s["id"] == "builtin-email"]
    assert target["url"] == f"smtp://127.0.0.1:{emailing.mailbox.port}" and target["format"] == "email"
    assert PASSWORD not in (await emailing.http.get("/v1/leads/mail-1/deliveries")).text


async def test_while_the_smtp_server_is_down_the_email_is_retried_and_slack_is_not_held_up(
        emailing: Emailing) -> None:
    await emailing.mailbox.stop()  # the SMTP server is down
    answer = await emailing.http.post("/v1/subscriptions", json={
        "url": emailing.hook_url, "events": ["lead.assigned"], "format": "slack"})
    assert answer.status_code == 201, answer.text
    await publish_together(emailing.kafka, _assigned("mail-down"))

    async def slack_told() -> bool:
        return len(emailing.receiver.deliveries) == 1

    await eventually(slack_told, what="the Slack message while the SMTP server is down")
    [waiting] = await eventually(email_deliveries(emailing, "mail-down", when=lambda d: d[0]["attempts"] >= 1),
                                 what="a failed email attempt")
    assert waiting["state"] == "pending" and "could not be reached" in waiting["last_error"]
    assert emailing.mailbox.received == []
    await start(emailing.mailbox)
    [received] = await eventually(emails(emailing.mailbox, 1), what="the email once the server is up")
    assert received.rcpt_tos == ["rita@example.com"]
    [entry] = await eventually(email_deliveries(emailing, "mail-down", when=lambda d: d[0]["state"] == "delivered"),
                               what="the email delivery logged as delivered")
    assert entry["attempts"] >= 2 and entry["last_error"] is None
    assert len(emailing.mailbox.received) == 1 and len(emailing.receiver.deliveries) == 1


async def test_a_refused_recipient_fails_that_delivery_alone_and_another_reps_email_in_the_batch_arrives(
        emailing: Emailing) -> None:
    emailing.mailbox.refuse["gone@example.com"] = "550 5.1.1 <gone@example.com>: Recipient address rejected"
    await start(emailing.mailbox)
    await publish_together(emailing.kafka, _assigned("mail-550", rep_email="gone@example.com", rep_id="rep-gone"),
                           _assigned("mail-550", rep_email="bo@example.com", rep_id="rep-bo", reason="reassigned"))
    [received] = await eventually(emails(emailing.mailbox, 1), what="the other rep's email")
    assert received.rcpt_tos == ["bo@example.com"]
    assert received.message["Subject"].startswith("Lead reassigned to you: Ana Ruiz")
    log = await eventually(email_deliveries(emailing, "mail-550", when=lambda d: len(d) == 2 and all(
        e["state"] != "pending" for e in d)), what="both email deliveries settled")
    assert [(e["state"], e["last_status"], e["last_error"], e["attempts"]) for e in log] == [
        ("failed", 550, "the SMTP server refused the recipient (550 5.1.1)", 1), ("delivered", 250, None, 1)]
    [(refused_over, _)] = emailing.mailbox.refused
    assert refused_over == received.peer  # one batch, one SMTP connection
    assert "gone@example.com" not in (await emailing.http.get("/v1/leads/mail-550/deliveries")).text


async def test_a_rep_without_an_email_address_gets_a_failed_delivery_saying_so(emailing: Emailing) -> None:
    await start(emailing.mailbox)
    await publish_together(emailing.kafka, _assigned("mail-none", rep_email=None))
    [entry] = await eventually(email_deliveries(emailing, "mail-none", when=lambda d: True),
                               what="the email delivery")
    assert entry["state"] == "failed" and entry["attempts"] == 0
    assert entry["last_error"] == "the rep has no email address in the routing document"
    assert emailing.mailbox.received == []
