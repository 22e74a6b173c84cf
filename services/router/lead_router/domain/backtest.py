"""Backtesting a draft routing document: replay stored leads through it, in the order they were received, and
count where they would have gone against where they actually went.

The replay uses the real decision code (rules, ownership, availability, strategies) and keeps what a decision
depends on in memory: rotation cursors, open-lead counts, owners of earlier contacts and each team's queue.
It is as if the draft had been published at the start of the period:

- open leads at the start are the real ones (assigned, not yet touched then); a lead stays open until its real
  first touch, whoever gets it in the replay (we cannot know when another rep would have touched it);
- rotation starts fresh (the first rep of each team), as after a new team is created;
- availability is today's (``active`` and capacity overrides); a current out-of-office period is not applied
  to the past (it says nothing about how the document spreads leads); working hours are checked at each
  lead's received time in each rep's time zone;
- owners of earlier contacts are the real ones before the period and the replay's own within it; a waiting lead
  goes to its contact's owner once they are free, even the owner of a later lead (the router's lookup does so);
- a lead nobody can take waits in its team's queue, re-checked every ``recheck`` (as the router's queue
  worker does) and sent to the fallback team after the team's ``queue_timeout_minutes``.

Pure: rows in, counts out; time is each lead's ``received_at``.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from lead_router.domain.availability import RepState, unavailable_reason
from lead_router.domain.backtest_outcome import QUEUED, Outcome, Placement
from lead_router.domain.config import Rep, RoutingConfig, Team
from lead_router.domain.decision import Decision, OwnerCandidate, decide
from lead_router.domain.matching import RuleOutcome, match_rules
from lead_router.domain.ownership import company_domain
from lead_router.domain.strategies import Cursor


@dataclass(frozen=True)
class StoredLead:
    """A lead of the period as the router stored it, with its real current assignment."""

    lead_id: str
    data: dict[str, Any]
    received_at: datetime
    actual: Placement
    touched_at: datetime | None  # the real first touch: the lead stops counting as open then


@dataclass(frozen=True)
class EarlierOwner:
    """A lead received before the period and assigned to ``rep_id``: it makes the rep the owner of its contact."""

    email: str | None
    rep_id: str
    team: str
    lead_id: str
    received_at: datetime


@dataclass(eq=False)
class _Waiting:
    lead: StoredLead
    queued_at: datetime
    outcome: RuleOutcome  # the draft's rule match, computed once
    done: bool = False


@dataclass
class _Queue:
    """A team's queue, oldest first; placed entries are marked done and dropped when they reach the front.
    ``owned`` files the waiting leads whose contact has an owner under that owner (possibly the owner of a lead
    received after them, as the router's own owner lookup finds it): while the team has nobody free, only the
    owner can take them, so a pass looks at them only when their owner is free."""

    items: deque[_Waiting] = field(default_factory=deque)
    owned: dict[str, list[_Waiting]] = field(default_factory=dict)


class Replay:
    """Feed the period's leads in received order (``feed``), then ``finish`` at the period's end."""

    def __init__(self, config: RoutingConfig, *, reps: dict[str, RepState],
                 recheck: timedelta = timedelta(seconds=30)) -> None:
        self.config = config
        self.recheck = recheck
        self.outcome = Outcome()
        # Today's availability, minus any out-of-office period; open counts are rebuilt by the replay.
        self._states = {rep_id: replace(state, out_of_office_until=None, open_leads=0) for rep_id, state in
                        reps.items()}
        self._cursors: dict[str, Cursor] = {}
        self._closing: list[tuple[datetime, int, str]] = []  # (touched_at, seq, rep_id), soonest first
        self._seq = 0
        self._by_email: dict[str, tuple[OwnerCandidate, datetime]] = {}
        self._by_domain: dict[str, tuple[OwnerCandidate, datetime]] = {}
        self._queues: dict[str, _Queue] = {}
        self._waiting_by_key: dict[str, list[tuple[str, _Waiting]]] = {}  # contact key -> (team, waiting lead)
        self._teams_of_rep: dict[str, list[tuple[Team, Rep]]] = {}
        for team in config.teams:
            for rep in team.reps:
                self._teams_of_rep.setdefault(rep.id, []).append((team, rep))
        self._last_recheck: datetime | None = None

    # ---- the start state ------------------------------------------------------------------------------------

    def open_lead(self, rep_id: str, touched_at: datetime | None) -> None:
        """A lead assigned before the period and still untouched at its start."""
        self._count_open(rep_id, touched_at)

    def earlier_owner(self, owner: EarlierOwner) -> None:
        """An assignment before the period, in received order: the latest one per contact wins."""
        self._remember(owner.email, OwnerCandidate(owner.rep_id, owner.team, ""), owner.lead_id, owner.received_at)

    # ---- the period -----------------------------------------------------------------------------------------

    def feed_many(self, leads: Iterable[StoredLead]) -> None:
        for lead in leads:
            self.feed(lead)

    def feed(self, lead: StoredLead) -> None:
        now = lead.received_at
        self._close_touched(now)
        if self._last_recheck is None or now - self._last_recheck >= self.recheck:
            self._drain(now)
        self.outcome.leads += 1
        self.outcome.actual[lead.actual.team, lead.actual.rep_id, lead.actual.urgency] += 1
        owner = self._owner(lead.data, now)
        outcome = match_rules(self.config, lead.data)
        decision = decide(self.config, lead.data, states=self._states, cursors=self._cursors, now=now, owner=owner,
                          outcome=outcome)
        if decision.queued:
            self._wait(decision.team, _Waiting(lead, now, outcome), owner)
        else:
            self._place(lead, decision, now)

    def finish(self, end: datetime) -> Outcome:
        """Give queued leads their last chance at ``end`` and count those still waiting as queued."""
        self._close_touched(end)
        self._drain(end)
        for team, queue in self._queues.items():
            for item in queue.items:
                if not item.done:
                    self._tally(item.lead, Placement(team, QUEUED, item.outcome.urgency))
        self._queues.clear()
        return self.outcome

    # ---- internals ------------------------------------------------------------------------------------------

    def _tally(self, lead: StoredLead, placement: Placement) -> None:
        self.outcome.draft[placement.team, placement.rep_id, placement.urgency] += 1
        if placement != lead.actual:
            self.outcome.changed += 1

    def _place(self, lead: StoredLead, decision: Decision, now: datetime) -> None:
        assert decision.rep_id is not None
        self._cursors[decision.team] = decision.cursor
        self._count_open(decision.rep_id, lead.touched_at, now)
        self._remember(lead.data.get("email"), OwnerCandidate(decision.rep_id, decision.team, ""), lead.lead_id,
                       lead.received_at)
        self._tally(lead, Placement(decision.team, decision.rep_id, decision.urgency))

    def _count_open(self, rep_id: str, touched_at: datetime | None, now: datetime | None = None) -> None:
        if touched_at is not None and now is not None and touched_at <= now:
            return  # worked before it would have been assigned: never open
        state = self._states.get(rep_id, RepState())
        self._states[rep_id] = replace(state, open_leads=state.open_leads + 1)
        if touched_at is not None:
            self._seq += 1
            heapq.heappush(self._closing, (touched_at, self._seq, rep_id))

    def _close_touched(self, now: datetime) -> None:
        while self._closing and self._closing[0][0] <= now:
            _, _, rep_id = heapq.heappop(self._closing)
            state = self._states[rep_id]
            self._states[rep_id] = replace(state, open_leads=max(0, state.open_leads - 1))

    def _remember(self, email: str | None, owner: OwnerCandidate, lead_id: str, received_at: datetime) -> None:
        for key in self._keys(email):  # waiting leads of this contact now have this owner
            waiting = [(team_id, item) for team_id, item in self._waiting_by_key.get(key, []) if not item.done]
            for team_id, item in waiting:
                if team_id in self._queues:
                    self._queues[team_id].owned.setdefault(owner.rep_id, []).append(item)
            self._waiting_by_key[key] = waiting
        if email:
            known = self._by_email.get(email)
            if known is None or known[1] <= received_at:
                self._by_email[email] = (replace(owner, why=f"same email as lead {lead_id}"), received_at)
        domain = company_domain(email)
        if domain:
            known = self._by_domain.get(domain)
            if known is None or known[1] <= received_at:
                self._by_domain[domain] = (replace(owner, why=f"same company domain as lead {lead_id}"), received_at)

    def _owner(self, lead: dict[str, Any], now: datetime) -> OwnerCandidate | None:
        since = now - timedelta(days=self.config.ownership.lookback_days)
        email = lead.get("email")
        found = self._by_email.get(email) if email else None
        if (found is None or found[1] < since) and self.config.ownership.match_company_domain:
            domain = company_domain(email)
            found = self._by_domain.get(domain) if domain else None
        return found[0] if found is not None and found[1] >= since else None

    def _drain(self, now: datetime) -> None:
        """The queue worker's pass, per team: leads past the team's queue timeout go to the fallback team; then
        the oldest leads are placed while the team has someone free; then leads whose owner is free again."""
        self._last_recheck = now
        fallback = self.config.fallback.team
        busy: set[str] = set()  # owners found unavailable in this pass: placements only make them busier
        for team_id in list(self._queues):
            queue = self._queues[team_id]
            if not queue.items:
                del self._queues[team_id]
                continue
            team = self.config.team(team_id)
            if team.queue_timeout_minutes is not None and team_id != fallback:
                timeout = timedelta(minutes=team.queue_timeout_minutes)
                while queue.items and (queue.items[0].done or now - queue.items[0].queued_at >= timeout):
                    item = queue.items.popleft()
                    if not item.done:
                        item.done = True
                        self._retry(replace(item), fallback, now)
            if self._anyone_free(team_id, now):
                while queue.items and (queue.items[0].done or self._retry(queue.items[0], team_id, now)):
                    queue.items.popleft().done = True
            for owner_id, items in list(queue.owned.items()):
                if owner_id in busy or not self._owner_free(owner_id, now):
                    busy.add(owner_id)
                    continue
                left = []
                for item in items:
                    if item.done or owner_id in busy:
                        left += [] if item.done else [item]
                        continue
                    item.done = self._retry(item, team_id, now)
                    if not item.done and not self._owner_free(owner_id, now):
                        busy.add(owner_id)  # the owner is full now: the rest waits for them
                        left.append(item)
                    # else: placed, or its owner is someone else by now (filed under them too): dropped here
                if left:
                    queue.owned[owner_id] = left
                else:
                    del queue.owned[owner_id]

    def _retry(self, item: _Waiting, target: str, now: datetime) -> bool:
        """Try a waiting lead again for ``target``; True when placed (or moved to another team's queue)."""
        decision = decide(self.config, item.lead.data, states=self._states, cursors=self._cursors, now=now,
                          owner=self._owner(item.lead.data, now), team_override=target, outcome=item.outcome)
        if not decision.queued:
            self._place(item.lead, decision, now)
            return True
        if decision.team != target or target not in self._queues or item.done:
            self._wait(decision.team, replace(item, done=False), self._owner(item.lead.data, now))
            return True
        return False

    def _wait(self, team_id: str, item: _Waiting, owner: OwnerCandidate | None) -> None:
        """Queue ``item`` in ``team_id`` (under its contact's ``owner`` too); remember its contact's keys, so a
        later owner of them can take it."""
        queue = self._queues.setdefault(team_id, _Queue())
        queue.items.append(item)
        if owner is not None:
            queue.owned.setdefault(owner.rep_id, []).append(item)
        for key in self._keys(item.lead.data.get("email")):
            self._waiting_by_key.setdefault(key, []).append((team_id, item))

    def _keys(self, email: str | None) -> list[str]:
        domain = company_domain(email) if self.config.ownership.match_company_domain else None
        return ([f"email:{email}"] if email else []) + ([f"domain:{domain}"] if domain else [])

    def _anyone_free(self, team_id: str, now: datetime) -> bool:
        team = self.config.team(team_id)
        return any(unavailable_reason(rep, team, self._states.get(rep.id, RepState()), now) is None
                   for rep in team.reps)

    def _owner_free(self, rep_id: str, now: datetime) -> bool:
        return any(unavailable_reason(rep, team, self._states.get(rep_id, RepState()), now) is None
                   for team, rep in self._teams_of_rep.get(rep_id, []))
