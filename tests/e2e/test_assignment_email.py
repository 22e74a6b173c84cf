"""End to end with email: a form lead is routed, and the assigned rep (their address from the routing document)
gets one email over SMTP with a login — plain text and HTML, the lead's text escaped — while no log line
carries the SMTP password, the rep's address or the lead's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from devstack.stack import SERVICES
from tests.conftest import DatabaseFactory
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_cannot_start import _run
from tests.e2e.test_pipeline import ADMIN, API_KEY
from tests.mailbox import Mailbox, Received, login
from tests.support import eventually

pytestmark = pytest.mark.e2e

PASSWORD = "e2e-smtp-pa55"
LEAD = {"first_name": "<b>Ana</b>", "last_name": "Ruiz", "email": "ana.mail@example.org", "company": "Smith & Sons",
        "phone": "+1 415 555 0100", "country": "US", "industry": "fintech", "employees": 1200, "source": "web_form",
        "intent": "demo_request"}


@pytest.fixture
async def emailing(tmp_path: Path, databases: DatabaseFactory) -> AsyncIterator[tuple[Stack, Mailbox]]:
    mailbox = Mailbox()
    await mailbox.start(authenticator=login("leadrouter", PASSWORD), auth_require_tls=False)
    try:
        with running_stack(tmp_path, {s.name: databases.new(s.name) for s in SERVICES.values()}, {
                "SMTP_URL": f"smtp://leadrouter:{PASSWORD}@127.0.0.1:{mailbox.port}",
                "SMTP_FROM": "Lead Desk <leads@mail.example.com>"}) as stack:
            yield stack, mailbox
    finally:
        await mailbox.stop()


async def test_the_assigned_rep_gets_one_email_and_no_log_carries_an_address_or_the_password(
        emailing: tuple[Stack, Mailbox], tmp_path: Path) -> None:
    stack, mailbox = emailing
    async with httpx.AsyncClient(timeout=10) as http:
        document = (await http.get(stack.url("router", "/v1/routing/config"), headers=ADMIN)).json()["document"]
        rep_emails = {rep["email"] for team in document["teams"] for rep in team["reps"]}
        answer = await http.post(stack.url("intake", "/v1/leads"), json=LEAD, headers=API_KEY)
        assert answer.status_code == 202, answer.text
        lead_id = answer.json()["lead_id"]

        async def emailed() -> list[Received] | None:
            return list(mailbox.received) or None

        [received] = await eventually(emailed, timeout=30, what="the rep's email")

        async def logged() -> dict[str, object] | None:
            deliveries = (await http.get(stack.url("sla-monitor", f"/v1/leads/{lead_id}/deliveries"),
                                         headers=ADMIN)).json()["deliveries"]
            return next((d for d in deliveries if d["channel"] == "email" and d["state"] == "delivered"), None)

        entry = await eventually(logged, what="the email delivery logged")
    assert entry["attempts"] == 1
    [rep_email] = received.rcpt_tos
    assert rep_email in rep_emails and received.message["To"] == rep_email
    assert received.message["Subject"].startswith("New lead for you: <b>Ana</b> Ruiz at Smith & Sons")
    plain, html = (part.get_content() for part in received.message.iter_parts())  # type: ignore[attr-defined]
    assert "Email:               ana.mail@example.org" in plain and f"/v1/leads/{lead_id}" in plain
    assert "&lt;b&gt;Ana&lt;/b&gt; Ruiz at Smith &amp; Sons" in html and "<b>Ana" not in html
    logs = await asyncio.to_thread(lambda: "".join(log.read_text() for log in tmp_path.glob("*.log")))
    assert "sla.started" in logs
    for secret in (PASSWORD, rep_email, "ana.mail@example.org"):
        assert secret not in logs, secret


@pytest.mark.parametrize("url", [f"smtp://leadrouter:{PASSWORD}@mail.example.com/inbox",
                                 f"smtps://leadrouter:{PASSWORD}@mail.example.com:99999"])
def test_a_malformed_smtp_url_stops_the_sla_monitor_naming_the_setting_but_never_the_password(url: str) -> None:
    result = _run(SERVICES["sla-monitor"], "serve", SMTP_URL=url)
    assert result.returncode == 2
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("Configuration error (SMTP_URL): SMTP_URL")
    assert PASSWORD not in result.stderr + result.stdout
