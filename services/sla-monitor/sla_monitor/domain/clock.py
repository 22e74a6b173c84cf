"""The response clock of one assignment, as a pure state machine.

``running → met | breached | cancelled``. A running clock warns once at ``warn_at`` and breaches once at
``due_at``; the first outbound touch at or after the assignment meets it. CRMs report whole seconds and their
clocks drift, so a touch dated up to ``skew`` before the assignment counts (as made at the assignment), and a
touch dated after it reached us (a meeting booked for next week) counts as made when it arrived. After a
breach, escalation levels fire while the lead stays untouched. After the first response, the follow-up
cadence counts outbound touches: a gap longer than ``max_gap`` is a follow-up breach, and a cadence that ends
without a reply recycles the lead to nurture. ``next_action_at`` is the next moment ``tick`` has something to
do (None: never).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from sla_monitor.domain.policies import Policy

State = Literal["running", "met", "breached", "cancelled"]
FollowUpState = Literal["active", "replied", "recycled"]


@dataclass(frozen=True)
class Warned:
    due_at: datetime


@dataclass(frozen=True)
class Breached:
    due_at: datetime
    level: int
    policy: Literal["first_response", "follow_up"] = "first_response"
    reassign: bool = False


@dataclass(frozen=True)
class Met:
    response_seconds: float


@dataclass(frozen=True)
class Recycled:
    touches: int


Happening = Warned | Breached | Met | Recycled


@dataclass(frozen=True)
class ResponseClock:
    assigned_at: datetime
    started_at: datetime
    due_at: datetime
    warn_at: datetime | None
    state: State = "running"
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    responded_at: datetime | None = None
    cancelled_at: datetime | None = None
    escalation_level: int = 0
    follow_up: FollowUpState | None = None
    touches: int = 0
    last_touch_at: datetime | None = None
    gap_alerted: bool = False

    @property
    def response_seconds(self) -> float | None:
        if self.responded_at is None:
            return None
        return max(0.0, (self.responded_at - self.started_at).total_seconds())

    def next_action_at(self, policy: Policy) -> datetime | None:
        if self.cancelled_at is not None:
            return None
        if self.state == "running":
            if self.warn_at is not None and self.warned_at is None and self.warn_at < self.due_at:
                return self.warn_at
            return self.due_at
        if self.state == "breached" and self.responded_at is None:
            if self.escalation_level - 1 < len(policy.escalation) and self.breached_at is not None:
                return self.breached_at + policy.escalation[self.escalation_level - 1].after
            return None
        if self.follow_up == "active" and policy.follow_up is not None and self.responded_at is not None:
            cadence_end = self.responded_at + policy.follow_up.within
            if self.touches < policy.follow_up.touches and not self.gap_alerted and self.last_touch_at:
                return min(self.last_touch_at + policy.follow_up.max_gap, cadence_end)
            return cadence_end
        return None


def start_clock(policy: Policy, *, assigned_at: datetime, received_at: datetime | None = None,
                captured_at: datetime | None = None) -> ResponseClock:
    """A new clock for an assignment; the policy says whether it counts from assignment, receipt or capture."""
    started_at = assigned_at
    if policy.clock_starts == "received" and received_at is not None:
        started_at = received_at
    elif policy.clock_starts == "captured":
        started_at = captured_at or received_at or assigned_at
    calendar = policy.business_hours.calendar() if policy.business_hours else None
    due_at = calendar.add(started_at, policy.first_response) if calendar else started_at + policy.first_response
    warn_at = due_at - policy.warn_before if policy.warn_before else None
    return ResponseClock(assigned_at=assigned_at, started_at=started_at, due_at=due_at, warn_at=warn_at)


#: How far before the assignment a touch may be dated and still count, unless the caller says otherwise.
DEFAULT_TOUCH_SKEW = timedelta(seconds=5)


def touch_moment(clock: ResponseClock, *, at: datetime, received_at: datetime | None = None,
                 skew: timedelta = DEFAULT_TOUCH_SKEW) -> datetime | None:
    """When a touch dated ``at`` and arrived at ``received_at`` counts as made; None when it predates the clock.

    A touch dated after its arrival (scheduled in the CRM ahead of time) counts as made when it arrived; a touch
    dated within ``skew`` before the assignment counts as made at the assignment (the CRM's clock runs behind or
    rounds down to whole seconds)."""
    if received_at is not None and at > received_at:
        at = received_at
    if at < clock.assigned_at - skew:
        return None
    return max(at, clock.assigned_at)


def record_touch(clock: ResponseClock, policy: Policy, *, at: datetime, outbound: bool, reply: bool = False,
                 received_at: datetime | None = None,
                 skew: timedelta = DEFAULT_TOUCH_SKEW) -> tuple[ResponseClock, list[Happening]]:
    """Apply a CRM activity: an outbound touch (call, email, meeting, sms) or an inbound reply/qualifying status.

    ``at`` is when the CRM says it happened, ``received_at`` when it reached leadrouter; see ``touch_moment``.

    A touch after the window first breaches a clock that was still running (the breach happened first);
    it then records the late response but is not ``sla.met``. A touch that happened within the window but
    reached the monitor after the breach had fired (a slow CRM webhook) still meets the clock: the breach
    alert stays in its history, and ``sla.met`` tells ops the lead was answered in time after all.
    """
    moment = touch_moment(clock, at=at, received_at=received_at, skew=skew)
    if clock.cancelled_at is not None or moment is None or not (outbound or reply):
        return clock, []
    at = moment
    happened: list[Happening] = []
    if clock.state == "running" and at > clock.due_at:
        clock, happened = tick(clock, policy, now=at)
    if reply:
        return (replace(clock, follow_up="replied") if clock.follow_up == "active" else clock), happened
    if clock.responded_at is None:
        in_time = clock.state == "running" or (clock.state == "breached" and at <= clock.due_at)
        responded = replace(clock, responded_at=at, touches=1, last_touch_at=at,
                            state="met" if in_time else clock.state,
                            follow_up="active" if policy.follow_up else None)
        if responded.state == "met":
            happened.append(Met(responded.response_seconds or 0.0))
        return responded, happened
    if clock.follow_up == "active":
        clock = replace(clock, touches=clock.touches + 1, last_touch_at=max(at, clock.last_touch_at or at),
                        gap_alerted=False)
    return clock, happened


def tick(clock: ResponseClock, policy: Policy, *, now: datetime) -> tuple[ResponseClock, list[Happening]]:
    """Everything due at ``now``: a warning, the breach, the next escalation level, follow-up gaps and ends."""
    if clock.state == "running":
        if now >= clock.due_at:
            breached = replace(clock, state="breached", breached_at=clock.due_at, escalation_level=1,
                               warned_at=clock.warned_at or now)
            return breached, [Breached(clock.due_at, level=1)]
        if clock.warn_at is not None and clock.warned_at is None and now >= clock.warn_at:
            return replace(clock, warned_at=now), [Warned(clock.due_at)]
        return clock, []
    due = clock.next_action_at(policy)
    if due is None or now < due:
        return clock, []
    if clock.state == "breached" and clock.responded_at is None:
        level = policy.escalation[clock.escalation_level - 1]
        escalated = replace(clock, escalation_level=clock.escalation_level + 1)
        return escalated, [Breached(clock.due_at, level=escalated.escalation_level, reassign=level.reassign)]
    assert policy.follow_up is not None and clock.responded_at is not None
    cadence_end = clock.responded_at + policy.follow_up.within
    if now >= cadence_end:
        return replace(clock, follow_up="recycled"), [Recycled(clock.touches)]
    assert clock.last_touch_at is not None
    return replace(clock, gap_alerted=True), [
        Breached(clock.last_touch_at + policy.follow_up.max_gap, level=1, policy="follow_up")]


def cancel(clock: ResponseClock, *, at: datetime) -> ResponseClock:
    """Stop a clock for good (reassigned, disqualified, closed); a met clock keeps its result."""
    if clock.state == "running":
        return replace(clock, state="cancelled", cancelled_at=at, follow_up=None)
    return replace(clock, cancelled_at=at, follow_up=None if clock.follow_up == "active" else clock.follow_up)
