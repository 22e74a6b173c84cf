"""The email channel against a real SMTP server (aiosmtpd): a batch over one connection, each message's own
outcome — a 5xx refusal fails that message alone, a 4xx, a closed connection, an unreachable server or the
deadline are tried again — and STARTTLS, implicit TLS and a login."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from shared.events import AssignedRep, LeadAssigned, LeadSummary
from sla_monitor.channels.base import AssignmentContext, Outcome
from sla_monitor.channels.email import EmailChannel, assignment_payload
from sla_monitor.smtp_url import Security, SmtpServer
from tests.mailbox import Mailbox, login, self_signed

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TARGET = SimpleNamespace(id="builtin-email", format="email")


class Clock:
    def now(self) -> datetime:
        return NOW


def _row(event_id: str, rep_email: str) -> Any:
    data = LeadAssigned(lead_id=f"lead-{event_id}", team="na", rep_id="rep", urgency="hot", rule_id="r1",
                        explanation=[], assigned_at=NOW, lead=LeadSummary(first_name="Ana"),
                        rep=AssignedRep(name="Rep", email=rep_email))
    payload = assignment_payload(data, AssignmentContext(due_at=None, url="https://crm.example.com/l", now=NOW))
    return SimpleNamespace(id=event_id, event_id=event_id, payload=json.dumps(payload))


def _channel(mailbox: Mailbox, *, security: Security = "plain", user: str | None = None, password: str | None = None,
             timeout: float = 5, tls: Any = None) -> EmailChannel:
    return EmailChannel(server=SmtpServer("127.0.0.1", mailbox.port, security, user, password),
                        sender="leadrouter <lr@mail.example.com>", clock=Clock(), timeout=timeout, tls_context=tls)


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    box = Mailbox()
    await box.start()
    yield box
    await box.stop()


async def test_a_batch_goes_over_one_connection_and_a_refused_recipient_fails_alone(mailbox: Mailbox) -> None:
    mailbox.refuse["gone@example.com"] = "550 5.1.1 <gone@example.com>: Recipient address rejected"
    rows = [_row("e1", "ana@example.com"), _row("e2", "gone@example.com"), _row("e3", "bo@example.com")]
    outcomes = await _channel(mailbox).send(rows, cast(Any, TARGET))
    assert outcomes[0] == Outcome(True, 250, None) and outcomes[2] == Outcome(True, 250, None)
    assert outcomes[1] == Outcome(False, 550, "the SMTP server refused the recipient (550 5.1.1)", permanent=True)
    assert [r.rcpt_tos for r in mailbox.received] == [["ana@example.com"], ["bo@example.com"]]
    assert len({r.peer for r in mailbox.received} | {peer for peer, _ in mailbox.refused}) == 1
    assert [r.message["Message-ID"].strip() for r in mailbox.received] == ["<e1@mail.example.com>",
                                                                           "<e3@mail.example.com>"]
    assert all(r.mail_from == "lr@mail.example.com" for r in mailbox.received)


async def test_a_temporary_refusal_is_tried_again_with_its_code(mailbox: Mailbox) -> None:
    mailbox.data_reply = "451 4.3.0 Mail server temporarily rejected message"
    mailbox.refuse["full@example.com"] = "452 4.2.2 Mailbox full"
    outcomes = await _channel(mailbox).send([_row("e1", "ana@example.com"), _row("e2", "full@example.com")],
                                            cast(Any, TARGET))
    assert outcomes == [Outcome(False, 451, "the SMTP server refused the message (451 4.3.0)"),
                        Outcome(False, 452, "the SMTP server refused the recipient (452 4.2.2)")]
    assert mailbox.received == []


async def test_a_server_closing_the_connection_leaves_the_rest_for_the_next_try(mailbox: Mailbox) -> None:
    mailbox.data_reply = "421 4.3.2 Service shutting down"
    outcomes = await _channel(mailbox).send([_row("e1", "ana@example.com"), _row("e2", "bo@example.com")],
                                            cast(Any, TARGET))
    assert [(o.ok, o.permanent, o.status) for o in outcomes] == [(False, False, 421), (False, False, None)]
    assert outcomes[1].error == "not sent: the SMTP server is closing the connection (421)"
    assert mailbox.received == []


async def test_an_unreachable_server_fails_every_message_for_a_retry() -> None:
    down = Mailbox()  # never started: its port refuses connections
    outcomes = await _channel(down).send([_row("e1", "ana@example.com"), _row("e2", "bo@example.com")],
                                         cast(Any, TARGET))
    assert outcomes == [Outcome(False, None, "the SMTP server could not be reached (SMTPConnectError)")] * 2


async def test_a_slow_server_is_left_at_the_deadline_and_the_message_tried_again(mailbox: Mailbox) -> None:
    mailbox.delay = 5
    started = time.monotonic()
    outcomes = await _channel(mailbox, timeout=1).send([_row("e1", "ana@example.com"), _row("e2", "bo@example.com")],
                                                       cast(Any, TARGET))
    assert time.monotonic() - started < 3
    assert outcomes == [Outcome(False, None, "not sent: no answer from the SMTP server within the 1s deadline")] * 2


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_starttls_or_tls_with_a_login(tmp_path: Path, security: Security) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    mailbox = Mailbox()
    if security == "tls":
        # TLS from the start, which aiosmtpd's login check does not know of
        await mailbox.start(ssl_context=server_tls, authenticator=login("lr", "pw"), auth_require_tls=False)
    else:
        await mailbox.start(tls_context=server_tls, require_starttls=True, authenticator=login("lr", "pw"),
                            auth_required=True)
    try:
        rows = [_row("e1", "ana@example.com")]
        wrong = await _channel(mailbox, security=security, user="lr", password="nope", tls=client_tls).send(
            rows, cast(Any, TARGET))
        assert wrong == [Outcome(False, None, "the SMTP server refused the login (535)")]
        assert mailbox.received == []
        right = await _channel(mailbox, security=security, user="lr", password="pw", tls=client_tls).send(
            rows, cast(Any, TARGET))
        assert right == [Outcome(True, 250, None)] and len(mailbox.received) == 1
    finally:
        await mailbox.stop()
