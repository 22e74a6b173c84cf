"""The rep's assignment email: who the lead is, its window, how to reach them and a link, as plain text and HTML —
and nothing a lead typed can add markup, a line or a header."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any, cast

import pytest

from shared.events import AssignedRep, LeadAssigned, LeadContact, LeadSummary
from sla_monitor.channels.base import AssignmentContext, NotDeliverable
from sla_monitor.channels.email import MAX_SUBJECT, EmailChannel, assignment_payload, message_id
from sla_monitor.smtp_url import SmtpServer

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
URL = "https://crm.example.com/leads/l-1?view=full&tab=1"
XSS = "<img src=x onerror=alert(1)>"


class FrozenClock:
    def now(self) -> datetime:
        return NOW


def _assigned(*, rep: AssignedRep | None = AssignedRep(name="Rita Rep", email="Rita@Example.com"),
              contact: LeadContact | None = LeadContact(email="ana@example.org", phone="+1 415 555 0100"),
              reason: str = "initial", **lead: Any) -> LeadAssigned:
    summary = {"first_name": "Ana", "last_name": "Ruiz", "company": "Fintastic", "source": "web_form",
               "campaign": "q4-demo", **lead}
    return LeadAssigned(lead_id="l-1", team="na", rep_id="rep-rita", urgency="hot", rule_id="r1",  # type: ignore[arg-type]
                        explanation=[], assigned_at=NOW, reason=reason, lead=LeadSummary(**summary),  # type: ignore[arg-type]
                        rep=rep, contact=contact)


def _payload(data: LeadAssigned, due_at: datetime | None = NOW + timedelta(minutes=30)) -> dict[str, Any]:
    return assignment_payload(data, AssignmentContext(due_at=due_at, url=URL, now=NOW))


def test_the_rep_gets_the_lead_its_window_contact_and_link_in_plain_text_and_html() -> None:
    payload = _payload(_assigned())
    assert payload["to"] == "Rita@example.com"  # the domain normalised, the local part as the rep wrote it
    assert payload["subject"] == "New lead for you: Ana Ruiz at Fintastic (hot)"
    text, html = payload["text"], payload["html"]
    assert text.startswith("Hi Rita Rep,\n\nNew lead for you: Ana Ruiz at Fintastic.\n")
    for part in ("Source:              web_form", "Campaign:            q4-demo", "Urgency:             hot (team na)",
                 "First response due:  2026-11-27 09:30 UTC (in 30 min)", "Email:               ana@example.org",
                 "Phone:               +1 415 555 0100", f"Open the lead: {URL}"):
        assert part in text, part
    for part in ("<strong>New lead for you</strong>: Ana Ruiz at Fintastic", "<td>web_form</td>",
                 "<td>2026-11-27 09:30 UTC (in 30 min)</td>", '<a href="mailto:ana@example.org">ana@example.org</a>',
                 '<a href="tel:+14155550100">+1 415 555 0100</a>',
                 '<a href="https://crm.example.com/leads/l-1?view=full&amp;tab=1">Open the lead</a>'):
        assert part in html, part


def test_a_reassignment_an_overdue_window_and_no_window_read_so() -> None:
    assert _payload(_assigned(reason="reassigned"))["subject"].startswith("Lead reassigned to you: Ana Ruiz")
    assert "2026-11-27 08:15 UTC (45 min ago)" in _payload(_assigned(), NOW - timedelta(minutes=45))["text"]
    assert "First response due:  no first-response window for urgency hot" in _payload(_assigned(), None)["text"]
    bare = _payload(_assigned(rep=AssignedRep(email="rita@example.com"), contact=None, first_name=None,
                              last_name=None, company=None, campaign=None))
    assert bare["subject"] == "New lead for you: A lead (hot)" and bare["text"].startswith("Hi,\n")
    assert "Email:" not in bare["text"] and "Campaign:            none" in bare["text"]


@pytest.mark.parametrize("hostile", [XSS, '"><script>alert(1)</script>', "Smith & Sons", "Ana\r\nBcc: x@evil.example",
                                     "a\u202eevil", "x\nOpen the lead: https://evil.example"])
def test_lead_text_is_escaped_in_html_and_never_adds_a_line_or_a_header(hostile: str) -> None:
    payload = _payload(_assigned(first_name=hostile, company=hostile, campaign=hostile, source="web_form",
                                 contact=LeadContact(email="ana@example.org", phone=hostile[:20], title=hostile)))
    html, text, subject = payload["html"], payload["text"], payload["subject"]
    assert "<img" not in html and "<script" not in html and "\r" not in html and "\n" not in html
    assert html.count("<a href=") == 3  # the lead's email, phone and the lead link: ours only
    if "&" in hostile:
        assert "Smith &amp; Sons" in html
    for line in text.splitlines():  # every line is one of ours
        assert line == "" or line.startswith(("Hi ", "New lead for you: ", "Source:", "Campaign:", "Urgency:",
                                              "First response due:", "Email:", "Phone:", "Title:",
                                              f"Open the lead: {URL}", "-- ", "Sent by leadrouter")), line
    assert not any(c in subject for c in "\r\n\u202e") and len(subject) <= MAX_SUBJECT
    message = EmailMessage()
    message["Subject"] = subject  # the email package refuses a header with a line break in it
    assert "Bcc" not in message.keys()


def test_a_long_subject_is_cut() -> None:
    subject = _payload(_assigned(company="A" * 400))["subject"]
    assert len(subject) == MAX_SUBJECT and subject.endswith("…")


NO_ADDRESS = "the rep has no email address in the routing document"
BAD_ADDRESS = "the rep's email address in the routing document is not a valid address"


@pytest.mark.parametrize(("rep", "reason"), [
    (None, NO_ADDRESS), (AssignedRep(name="Rita"), NO_ADDRESS), (AssignedRep(email="rita at example.com"), BAD_ADDRESS),
    (AssignedRep(email="rita@example.com\r\nBcc: x@evil.example"), BAD_ADDRESS),
])
def test_without_a_usable_rep_address_the_email_is_not_deliverable_and_says_why_without_the_address(
        rep: AssignedRep | None, reason: str) -> None:
    with pytest.raises(NotDeliverable) as refused:
        _payload(_assigned(rep=rep))
    assert str(refused.value) == reason


def test_the_message_is_multipart_alternative_from_smtp_from_with_a_message_id_of_the_event() -> None:
    channel = EmailChannel(server=SmtpServer("127.0.0.1", 25, "plain"), sender="leadrouter <lr@mail.example.com>",
                           clock=FrozenClock(), timeout=5)
    payload = _payload(_assigned(first_name=XSS))
    row = SimpleNamespace(event_id="6f1c7a4e-0d7b-4f7a-9a57-2f0c1e0b9a11", payload=json.dumps(payload))
    to, message = channel._message(cast(Any, row))
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert to == "Rita@example.com" and parsed["To"] == "Rita@example.com"
    assert parsed["From"] == "leadrouter <lr@mail.example.com>" and parsed["Auto-Submitted"] == "auto-generated"
    # folded onto its own line when long, which is allowed (and unfolded by readers)
    assert parsed["Message-ID"].strip() == "<6f1c7a4e-0d7b-4f7a-9a57-2f0c1e0b9a11@mail.example.com>"
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = (part.get_content() for part in parsed.iter_parts())  # type: ignore[attr-defined]
    assert f"New lead for you: {XSS} Ruiz at Fintastic." in plain
    assert "&lt;img src=x onerror=alert(1)&gt; Ruiz" in html and "<img" not in html
    assert message_id("odd id <with> spaces", "d.example") == message_id("odd id <with> spaces", "d.example")
    assert " " not in message_id("odd id <with> spaces", "d.example")
