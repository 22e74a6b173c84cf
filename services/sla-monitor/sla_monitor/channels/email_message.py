"""The rep's assignment email: a plain-text and an HTML message saying what the Slack one says — who the lead
is, company, source, campaign, urgency, team, when the first response is due and a link — plus the lead's email
and phone, so the rep can act from the inbox.

Everything a lead typed is escaped for HTML in the HTML part and kept on one line everywhere (a name cannot
add a line, a header or a link of its own); the subject is bounded.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from email_validator import EmailNotValidError, validate_email

from shared.events import LeadAssigned
from sla_monitor.channels.base import AssignmentContext, NotDeliverable
from sla_monitor.domain.durations import in_words

#: Longest subject, in characters (mail clients show far fewer).
MAX_SUBJECT = 150


def one_line(value: object) -> str:
    """``value`` on one line: control and format characters (CR, LF, tab, bidi overrides) become spaces and
    runs of spaces one."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(value))
    return " ".join(text.split())


def _recipient(data: LeadAssigned) -> str:
    email = data.rep.email if data.rep is not None else None
    if not email:
        raise NotDeliverable("the rep has no email address in the routing document")
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        raise NotDeliverable("the rep's email address in the routing document is not a valid address") from None


def _due(data: LeadAssigned, due_at: datetime | None, now: datetime) -> str:
    if due_at is None:
        return f"no first-response window for urgency {one_line(data.urgency)}"
    left = (due_at - now).total_seconds()
    return f"{due_at:%Y-%m-%d %H:%M} UTC ({'in ' + in_words(left) if left > 0 else in_words(-left) + ' ago'})"


def _facts(data: LeadAssigned, context: AssignmentContext) -> list[tuple[str, str, str | None]]:
    """(label, text, link) of each line about the lead, every text on one line."""
    lead, contact = data.lead, data.contact
    facts: list[tuple[str, str, str | None]] = [
        ("Source", one_line(lead.source or "unknown"), None),
        ("Campaign", one_line(lead.campaign or "none"), None),
        ("Urgency", f"{one_line(data.urgency)} (team {one_line(data.team)})", None),
        ("First response due", _due(data, context.due_at, context.now), None)]
    if contact is not None and contact.email:
        email = one_line(contact.email)
        facts.append(("Email", email, "mailto:" + quote(email, safe="@")))
    if contact is not None and contact.phone:
        phone = one_line(contact.phone)
        facts.append(("Phone", phone, "tel:" + quote(phone.replace(" ", ""), safe="+")))
    if contact is not None and contact.title:
        facts.append(("Title", one_line(contact.title), None))
    return facts


def assignment_payload(data: LeadAssigned, context: AssignmentContext) -> dict[str, Any]:
    """The rep's email for this assignment: ``to``, ``subject``, ``text`` and ``html``."""
    to = _recipient(data)
    lead = data.lead
    title = "Lead reassigned to you" if data.reason == "reassigned" else "New lead for you"
    who = one_line(lead.name) if lead.name else "A lead"
    company = one_line(lead.company) if lead.company else ""
    headline = who + (f" at {company}" if company else "")
    subject = f"{title}: {headline} ({one_line(data.urgency)})"
    if len(subject) > MAX_SUBJECT:
        subject = subject[:MAX_SUBJECT - 1].rstrip() + "…"
    greeting = f"Hi {one_line(data.rep.name)}," if data.rep is not None and data.rep.name else "Hi,"
    facts = _facts(data, context)
    url = one_line(context.url)
    width = max(len(label) for label, _, _ in facts) + 3
    text = "\n".join([
        greeting, "", f"{title}: {headline}.", "",
        *(f"{label + ':':<{width}}{value}" for label, value, _ in facts), "",
        f"Open the lead: {url}", "", "-- ", "Sent by leadrouter because this lead was assigned to you.", ""])
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{escape(label)}</th><td>'
        + (f'<a href="{escape(link)}">{escape(value)}</a>' if link else escape(value)) + "</td></tr>"
        for label, value, link in facts)
    html = (f'<!DOCTYPE html><html><body style="font-family:sans-serif">'
            f"<p>{escape(greeting)}</p>"
            f"<p><strong>{escape(title)}</strong>: {escape(headline)}</p>"
            f"<table>{rows}</table>"
            f'<p><a href="{escape(url)}">Open the lead</a></p>'
            f'<p style="color:#777">Sent by leadrouter because this lead was assigned to you.</p>'
            "</body></html>")
    return {"to": to, "subject": subject, "text": text, "html": html}
