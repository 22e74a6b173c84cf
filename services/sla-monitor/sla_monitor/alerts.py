"""What a clock's happenings become: events on ``sla.alerts`` (via the outbox) and deliveries.

Both are written in the transaction that changed the clock, so an alert exists exactly when its clock says
it fired — no matter how often the process crashes or a message is redelivered. The ticker fires clocks in
batches, so alerts are collected first and written with one statement per table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import CloudEvent, EventData, LeadRecycled, ReassignmentRequested, SlaBreached, SlaMet, SlaWarning
from shared.outbox import add_many_to_outbox
from sla_monitor import tables
from sla_monitor.channels.base import NotDeliverable
from sla_monitor.domain.clock import Breached, Happening, Met, Recycled, Warned
from sla_monitor.escaping import slack_text

EVENT_SOURCE = "leadrouter/sla-monitor"


def _alert_context(row: Row[Any]) -> dict[str, Any]:
    lead = row.lead or {}
    return {"lead_id": row.lead_id, "clock_id": row.clock_id, "rep_id": row.rep_id, "team": row.team,
            "urgency": row.urgency, "lead_name": lead.get("name"), "company": lead.get("company"),
            "source": lead.get("source"), "campaign": lead.get("campaign")}


def events_for(row: Row[Any], happening: Happening) -> list[EventData]:
    """The events one happening of the clock in ``row`` produces."""
    context = _alert_context(row)
    if isinstance(happening, Warned):
        return [SlaWarning(**context, policy="first_response", due_at=happening.due_at)]
    if isinstance(happening, Breached):
        events: list[EventData] = [SlaBreached(**context, policy=happening.policy, due_at=happening.due_at,
                                               level=happening.level)]
        if happening.reassign:
            events.append(ReassignmentRequested(
                lead_id=row.lead_id, clock_id=row.clock_id, team=row.team, current_rep_id=row.rep_id,
                level=happening.level, reason=f"untouched at escalation level {happening.level}"))
        return events
    if isinstance(happening, Met):
        return [SlaMet(lead_id=row.lead_id, clock_id=row.clock_id, rep_id=row.rep_id, team=row.team,
                       urgency=row.urgency, response_seconds=happening.response_seconds)]
    assert isinstance(happening, Recycled)
    return [LeadRecycled(lead_id=row.lead_id, rep_id=row.rep_id, team=row.team, touches=happening.touches,
                         reason="the follow-up cadence ended without a reply; back to nurture")]


def wants(subscription: Row[Any], event_type: str, data: dict[str, Any]) -> bool:
    """Whether a subscription's event types and filter (team, urgency, level) select this event."""
    if subscription.events and event_type not in subscription.events and "*" not in subscription.events:
        return False
    for key, wanted in (subscription.filter or {}).items():
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if data.get(key, 1 if key == "level" else None) not in allowed:
            return False
    return True


def slack_message(event: CloudEvent, *, now: datetime) -> dict[str, str]:
    """A Slack incoming-webhook message: lead, company, source, campaign, rep and how late.

    Every value from the event is escaped (``sla_monitor.escaping.slack_text``): lead text is typed by
    whoever filled in a form, and must not mention a channel, make a link or format the message."""
    data = event.data
    title = {SlaBreached.event_type: "SLA breached", SlaWarning.event_type: "SLA due soon",
             SlaMet.event_type: "SLA met", LeadRecycled.event_type: "Lead recycled to nurture",
             }.get(event.type, slack_text(event.type))
    if data.get("level", 1) > 1:
        title += f" (escalation level {slack_text(data['level'])})"
    lead = slack_text(data.get("lead_name") or data["lead_id"])
    parts = [f"*{title}*: {lead}" + (f" at {slack_text(data['company'])}" if data.get("company") else "")]
    parts.append(f"source {slack_text(data.get('source') or 'unknown')}, "
                 f"campaign {slack_text(data.get('campaign') or 'none')}")
    parts.append(f"rep {slack_text(data.get('rep_id') or 'unassigned')} ({slack_text(data.get('team'))})")
    if data.get("due_at"):
        late = (now - datetime.fromisoformat(data["due_at"])).total_seconds()
        parts.append(f"{round(late / 60)} min late" if late > 0 else f"due in {round(-late / 60)} min")
    return {"text": " — ".join(parts)}


@dataclass
class Alerts:
    """Events and deliveries collected for one transaction."""

    subscriptions: list[Row[Any]]
    now: datetime
    events: list[CloudEvent] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: Row[Any], happenings: list[Happening]) -> None:
        for happening in happenings:
            for data in events_for(row, happening):
                event = CloudEvent.wrap(data, source=EVENT_SOURCE, time=self.now)
                self.events.append(event)
                if not isinstance(data, ReassignmentRequested):
                    self._fan_out(event)

    def deliver(self, event: CloudEvent, *, bodies: Mapping[str, dict[str, Any] | NotDeliverable]) -> None:
        """Queue deliveries of an event this service does not publish itself (``lead.assigned``) to every
        target that wants it: ``bodies`` by format (a Slack message, a CRM write-back, an email); targets of
        another format get the CloudEvent. A format whose body is ``NotDeliverable`` gets a failed delivery
        saying why, so the lead's write-back state shows it."""
        self._fan_out(event, bodies=bodies)

    def _fan_out(self, event: CloudEvent, *,
                 bodies: Mapping[str, dict[str, Any] | NotDeliverable] | None = None) -> None:
        for subscription in self.subscriptions:
            if not wants(subscription, event.type, event.data):
                continue
            body: dict[str, Any] | NotDeliverable | None = (bodies or {}).get(subscription.format)
            if body is None:
                if subscription.format == "slack":
                    body = slack_message(event, now=self.now)
                elif subscription.format == "cloudevents":
                    body = event.model_dump(mode="json")
                else:  # a CRM or email target only takes what was built for it
                    continue
            delivery = {
                "subscription_id": subscription.id, "event_id": event.id, "event_type": event.type,
                "lead_id": event.subject, "state": "pending", "attempts": 0, "next_attempt_at": self.now,
                "created_at": self.now, "last_error": None}
            if isinstance(body, NotDeliverable):
                delivery.update(state="failed", next_attempt_at=None, payload="{}", last_error=str(body)[:500])
            else:
                delivery["payload"] = json.dumps(body, separators=(",", ":"))
            self.deliveries.append(delivery)

    async def write(self, session: AsyncSession) -> None:
        await add_many_to_outbox(session, tables.outbox, self.events)
        if self.deliveries:
            await session.execute(_INSERT_DELIVERIES, self.deliveries)


async def collect(session: AsyncSession, *, now: datetime) -> Alerts:
    """An empty collection that knows the active subscriptions."""
    subscriptions = (await session.execute(_ACTIVE_SUBSCRIPTIONS)).all()
    return Alerts(list(subscriptions), now)


# Every assignment and alert reads these: built once, not per call.
_ACTIVE_SUBSCRIPTIONS = select(tables.subscriptions).where(tables.subscriptions.c.active.is_(True))
_INSERT_DELIVERIES = insert(tables.deliveries)


async def emit(session: AsyncSession, row: Row[Any], happenings: list[Happening], *, now: datetime) -> None:
    """Write the events of one clock's ``happenings`` and queue their deliveries."""
    if not happenings:
        return
    alerts = await collect(session, now=now)
    alerts.add(row, happenings)
    await alerts.write(session)
