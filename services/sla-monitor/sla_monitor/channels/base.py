"""What every delivery channel shares: the outcome of one delivery, and the shape of a channel.

A *target* is a row of ``subscriptions``: a webhook an admin subscribed, or a built-in one the environment
configures (HubSpot, Salesforce, email; see ``sla_monitor.targets``). Its ``format`` names the channel that sends
to it. The delivery worker (``sla_monitor.delivery``) owns the queue, leases, retries, backoff, the delivery log
and switching targets off after a run of failures; a channel only turns due deliveries into outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Row

from shared.events import CrmName


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery attempt.

    ``permanent``: trying again cannot help (the delivery is marked failed now). ``retry_after``: the target
    asked to be left alone this many seconds. ``throttled``: the target refused for its rate limit, not because
    of this delivery (the attempt neither counts against the delivery nor the target). ``linked``: the CRM
    answered the lead's id there; the worker publishes it as ``lead.linked``.
    """

    ok: bool
    status: int | None
    error: str | None
    permanent: bool = False
    retry_after: float | None = None
    throttled: bool = False
    linked: tuple[CrmName, str] | None = None


@dataclass(frozen=True)
class AssignmentContext:
    """What an assignment's message or write-back needs besides the event: its clock's due time (None when no
    window applies), the link to the lead, the time now, and the lead's CRM ids learned since it was routed."""

    due_at: datetime | None
    url: str
    now: datetime
    links: dict[str, str] = field(default_factory=dict)


class NotDeliverable(ValueError):
    """Raised by a payload builder when an event cannot be sent to a target at all (the reason, without PII)."""


class Channel(Protocol):
    #: How many due deliveries of one target a single ``send`` takes.
    batch_size: int
    #: Only a lead's newest delivery to a target matters (a CRM owner: a reassignment's write-back makes the
    #: earlier one moot, and sending the earlier one after it would undo it). Messages to people are all sent.
    latest_only: bool
    #: The longest one ``send`` may take (the worker leases deliveries for twice that).
    deadline_seconds: float

    async def send(self, deliveries: Sequence[Row[Any]], target: Row[Any]) -> list[Outcome]:
        """One outcome per delivery, in order. Must not raise for a single delivery's problem."""
        ...
