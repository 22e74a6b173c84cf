"""``lead.assigned`` for subscribers: the CloudEvent as the router published it, or a Slack message telling
the rep (by mention, when the routing document gives their Slack member id) about the lead and its window.

Queued in the transaction that starts the assignment's clock, so the message knows when the first response is
due, and goes out through the same durable delivery as SLA alerts (``sla_monitor.delivery``).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import CloudEvent, LeadAssigned, is_slack_user_id
from sla_monitor.alerts import collect
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


def _in(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} h"
    return f"{round(minutes / 1440)} days"


def _due(data: LeadAssigned, due_at: datetime | None, now: datetime) -> str:
    if due_at is None:
        return f"no first-response window for urgency {slack_text(data.urgency)}"
    # Slack shows a <!date> in each reader's own time zone; the text after | is the fallback.
    fallback = f"{due_at:%Y-%m-%d %H:%M} UTC"
    when = f"<!date^{int(due_at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
    left = (due_at - now).total_seconds()
    return f"first response due {when} ({'in ' + _in(left) if left > 0 else _in(-left) + ' ago'})"


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


async def announce(session: AsyncSession, event: CloudEvent, data: LeadAssigned, *, due_at: datetime | None,
                   url_template: str, now: datetime) -> None:
    """Queue the assignment's deliveries to the subscriptions that want ``lead.assigned`` (team, urgency)."""
    alerts = await collect(session, now=now)
    body = CloudEvent.wrap(data, source=event.source, event_id=event.id, time=event.time)
    alerts.deliver(body, slack=assignment_slack_message(data, due_at=due_at, url=lead_url(url_template,
                                                                                          data.lead_id), now=now))
    await alerts.write(session)
