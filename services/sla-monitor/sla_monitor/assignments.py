"""``lead.assigned`` for its targets: the CloudEvent as the router published it, a Slack message telling the
rep (by mention, when the routing document gives their Slack member id) about the lead and its window, the
CRM write-backs (``channels.hubspot``, ``channels.salesforce``) and the rep's email (``channels.email``).

Queued in the transaction that starts the assignment's clock, so each message knows when the first response
is due, and goes out through the one durable delivery mechanism (``sla_monitor.delivery``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import CloudEvent, LeadAssigned, is_slack_user_id
from sla_monitor import tables
from sla_monitor.alerts import collect, wants
from sla_monitor.channels import email, hubspot, salesforce
from sla_monitor.channels.base import AssignmentContext, NotDeliverable
from sla_monitor.domain.durations import in_words
from sla_monitor.escaping import slack_link, slack_text


def lead_url(template: str, lead_id: str) -> str:
    """``LEAD_URL_TEMPLATE`` with the lead id (percent-encoded) in place of ``{lead_id}``."""
    return template.replace("{lead_id}", quote(lead_id, safe=""))


def _rep(data: LeadAssigned) -> str:
    rep = data.rep
    if rep is not None and is_slack_user_id(rep.slack_user_id):
        return f"<@{rep.slack_user_id}>"
    if rep is not None and rep.name:
        return slack_text(rep.name)
    return slack_text(data.rep_id or "nobody yet")


def _due(data: LeadAssigned, due_at: datetime | None, now: datetime) -> str:
    if due_at is None:
        return f"no first-response window for urgency {slack_text(data.urgency)}"
    # Slack shows a <!date> in each reader's own time zone; the text after | is the fallback.
    fallback = f"{due_at:%Y-%m-%d %H:%M} UTC"
    when = f"<!date^{int(due_at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
    left = (due_at - now).total_seconds()
    return f"first response due {when} ({'in ' + in_words(left) if left > 0 else in_words(-left) + ' ago'})"


def assignment_slack_message(data: LeadAssigned, *, due_at: datetime | None, url: str,
                             now: datetime) -> dict[str, str]:
    """A Slack incoming-webhook message for an assignment or reassignment.

    Every value that comes from the lead or the routing document is escaped (``slack_text``); only a Slack
    member id of the documented shape becomes a mention."""
    lead = data.lead
    title = "Lead reassigned" if data.reason == "reassigned" else "New lead"
    who = slack_text(lead.name) if lead.name else "A lead"
    company = f" at {slack_text(lead.company)}" if lead.company else ""
    lines = [
        f"*{title}* for {_rep(data)}: {who}{company}",
        f"source {slack_text(lead.source or 'unknown')}, campaign {slack_text(lead.campaign or 'none')}, "
        f"urgency {slack_text(data.urgency)} (team {slack_text(data.team)})",
        _due(data, due_at, now),
        slack_link(url, "Open the lead"),
    ]
    return {"text": "\n".join(lines)}


def _slack_payload(data: LeadAssigned, context: AssignmentContext) -> dict[str, Any]:
    return assignment_slack_message(data, due_at=context.due_at, url=context.url, now=context.now)


#: What each target format receives for an assignment (webhooks in ``cloudevents`` format get the event).
PAYLOADS: dict[str, Callable[[LeadAssigned, AssignmentContext], dict[str, Any]]] = {
    "slack": _slack_payload,
    "hubspot": hubspot.assignment_payload,
    "salesforce": salesforce.assignment_payload,
    "email": email.assignment_payload,
}
#: Formats whose payload depends on the CRM ids learned since the lead was routed.
_NEEDS_LINKS = frozenset({"hubspot", "salesforce"})


async def _links(session: AsyncSession, lead_id: str) -> dict[str, str]:
    t = tables.lead_links
    return {r.crm: r.external_id for r in (await session.execute(
        select(t.c.crm, t.c.external_id).where(t.c.lead_id == lead_id))).all()}


async def announce(session: AsyncSession, event: CloudEvent, data: LeadAssigned, *, due_at: datetime | None,
                   url_template: str, now: datetime) -> None:
    """Queue the assignment's deliveries to the targets that want ``lead.assigned`` (team, urgency)."""
    alerts = await collect(session, now=now)
    # Webhooks get the assignment without the lead's contact details (those are for the CRM write-backs).
    body = CloudEvent.wrap(data.model_copy(update={"contact": None}), source=event.source, event_id=event.id,
                           time=event.time)
    formats = {s.format for s in alerts.subscriptions if wants(s, body.type, body.data)}
    if not formats:
        return
    links = await _links(session, data.lead_id) if formats & _NEEDS_LINKS else {}
    context = AssignmentContext(due_at=due_at, url=lead_url(url_template, data.lead_id), now=now, links=links)
    bodies: dict[str, dict[str, Any] | NotDeliverable] = {}
    for format in formats & PAYLOADS.keys():
        try:
            bodies[format] = PAYLOADS[format](data, context)
        except NotDeliverable as exc:
            bodies[format] = exc
    alerts.deliver(body, bodies=bodies)
    await alerts.write(session)
