"""Routing a lead: decide (rules, ownership, strategy), store the assignment, queue ``lead.assigned``.

All writes happen in the caller's transaction, so the assignment, the rotation cursor, the processed event
and the outgoing event commit together or not at all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_router import tables
from lead_router.config_store import ActiveConfig
from lead_router.domain.availability import RepState
from lead_router.domain.decision import Decision, OwnerCandidate, decide
from lead_router.domain.matching import match_rules
from lead_router.domain.ownership import company_domain
from lead_router.state_store import load_cursor, lock_cursors, lock_lead, lock_leads, rep_states, save_cursor
from shared.events import AssignedRep, CloudEvent, LeadAssigned, LeadContact, LeadReceived, LeadSummary, RepCrmIds
from shared.outbox import add_many_to_outbox, add_to_outbox

EVENT_SOURCE = "leadrouter/router"

# Run for every lead routed: built once here, they skip SQLAlchemy's statement building and cache-key walk on
# each call (about half of a simple statement's CPU).
_leads, _a = tables.leads, tables.assignments
_KNOWN_LEADS = select(_leads.c.lead_id).where(_leads.c.lead_id.in_(bindparam("lead_ids", expanding=True)))
_INSERT_LEADS = insert(_leads)
_INSERT_ASSIGNMENTS = insert(_a)
_CURRENT_OF = select(_a.c.lead_id, _a.c.rep_id, _a.c.team, _a.c.current, _a.c.state).where(
    _a.c.lead_id.in_(bindparam("lead_ids", expanding=True)))
_SUPERSEDE = update(_a).where(_a.c.lead_id == bindparam("lead"), _a.c.current.is_(True)).values(
    current=False, state="superseded")


def _earlier_leads(column: Any, *, exclude: bool) -> Any:
    """The leads with one of the ``keys`` in ``column`` received since ``since`` (and, with ``exclude``, other
    than ``lead``): their key, id and time."""
    query = select(column.label("key"), _leads.c.lead_id, _leads.c.received_at).where(
        column.in_(bindparam("keys", expanding=True)), _leads.c.received_at >= bindparam("since"))
    return query.where(_leads.c.lead_id != bindparam("lead")) if exclude else query


_EARLIER = {(name, exclude): _earlier_leads(column, exclude=exclude)
            for name, column in (("email", _leads.c.email), ("company domain", _leads.c.email_domain))
            for exclude in (False, True)}


async def find_owner(session: AsyncSession, active: ActiveConfig, lead: dict[str, Any], *, lead_id: str,
                     now: datetime) -> OwnerCandidate | None:
    """The rep who owns an earlier lead with the same email (or company domain, when enabled)."""
    ownership = active.parsed.ownership
    since = now - timedelta(days=ownership.lookback_days)
    conditions: list[tuple[str, str]] = []
    if lead.get("email"):
        conditions.append(("email", lead["email"]))
    domain = company_domain(lead.get("email"))
    if ownership.match_company_domain and domain:
        conditions.append(("company domain", domain))
    for label, key in conditions:
        owners = await _owners_of_earlier_leads(
            session, _EARLIER[(label, True)], {"keys": [key], "since": since, "lead": lead_id}, label)
        if owners:
            return next(iter(owners.values()))
    return None


async def _owners_of_earlier_leads(session: AsyncSession, earlier: Any, params: dict[str, Any],
                                   label: str) -> dict[str, OwnerCandidate]:
    """``{key: the owner of the most recent earlier lead with that key}``, from ``earlier`` run with ``params``
    (the matching leads' ``key``, ``lead_id`` and ``received_at``) and those leads' current assignments.

    Two index lookups (the contact's leads, then their assignments by lead id) rather than one join: without
    table statistics SQLite plans that join by walking every current assignment, which grows with history."""
    found = (await session.execute(earlier, params)).all()
    if not found:
        return {}
    # Filtered here, not in SQL: a condition on (state, current) makes SQLite prefer that index, every row of it.
    rows = (await session.execute(_CURRENT_OF, {"lead_ids": sorted({r.lead_id for r in found})})).all()
    current = {row.lead_id: row for row in rows if row.current and row.state == "assigned"}
    owners: dict[str, OwnerCandidate] = {}
    for row in sorted(found, key=lambda r: r.received_at, reverse=True):
        if (hit := current.get(row.lead_id)) is not None:
            owners.setdefault(row.key, OwnerCandidate(hit.rep_id, hit.team, f"same {label} as lead {row.lead_id}"))
    return owners


async def plan(session: AsyncSession, active: ActiveConfig, lead: dict[str, Any], *, lead_id: str, now: datetime,
               lock: bool, exclude: frozenset[str] = frozenset(), team_override: str | None = None,
               use_ownership: bool = True) -> Decision:
    """Load (and with ``lock``, lock) the state a decision depends on, then decide; writes nothing."""
    outcome = match_rules(active.parsed, lead)
    team_id = team_override or outcome.team
    owner = await find_owner(session, active, lead, lead_id=lead_id, now=now) if use_ownership else None
    teams = {team_id}
    rep_ids = [r.id for r in active.parsed.team(team_id).reps]
    if owner is not None:
        rep_ids.append(owner.rep_id)
        if any(team.id == owner.team for team in active.parsed.teams):
            teams.add(owner.team)  # the decision may go to the owner's team and write its cursor
    if lock:
        cursors = await lock_cursors(session, teams, now=now)
    else:
        cursors = {team: await load_cursor(session, team, now=now, lock=False) for team in teams}
    states = await rep_states(session, rep_ids)
    return decide(active.parsed, lead, states=states, cursors=cursors, now=now, exclude=exclude,
                  team_override=team_override, owner=owner, outcome=outcome)


def summary_of(lead: dict[str, Any]) -> LeadSummary:
    return LeadSummary.model_validate(lead)


def rep_of(active: ActiveConfig, team_id: str, rep_id: str | None) -> AssignedRep | None:
    """What ``lead.assigned`` says about the rep: name, work email, Slack member id, CRM user ids."""
    team = next((t for t in active.parsed.teams if t.id == team_id), None)
    rep = next((r for r in team.reps if r.id == rep_id), None) if team is not None else None
    if rep is None:
        return None
    return AssignedRep(name=rep.name, email=rep.email, slack_user_id=rep.slack_user_id,
                       crm=RepCrmIds.model_validate(rep.crm.model_dump()))


def assignment_row(decision: Decision, *, active: ActiveConfig, lead_id: str, reason: str, now: datetime,
                   queued_at: datetime | None = None) -> dict[str, Any]:
    """The lead's new current row of ``assignments`` for ``decision`` (an assignment, or a queue entry)."""
    return {
        "lead_id": lead_id, "state": "queued" if decision.queued else "assigned", "current": True,
        "team": decision.team, "rep_id": decision.rep_id, "urgency": decision.urgency, "rule_id": decision.rule_id,
        "explanation": decision.explanation, "config_version": active.number, "reason": reason,
        "queued_at": (queued_at or now) if decision.queued else queued_at,
        "assigned_at": None if decision.queued else now, "touched_at": None,
    }


def assigned_event(decision: Decision, *, active: ActiveConfig, lead_id: str, lead: dict[str, Any], reason: str,
                   now: datetime) -> CloudEvent:
    """``lead.assigned`` for an assignment: the decision, the lead's summary and contact, the rep's details."""
    event = LeadAssigned(
        lead_id=lead_id, team=decision.team, rep_id=decision.rep_id, urgency=decision.urgency,
        rule_id=decision.rule_id, explanation=decision.explanation, assigned_at=now, reason=reason,  # type: ignore[arg-type]
        config_version=active.number, lead=summary_of(lead), rep=rep_of(active, decision.team, decision.rep_id),
        contact=LeadContact.model_validate(lead),
    )
    return CloudEvent.wrap(event, source=EVENT_SOURCE, time=now)


async def record(session: AsyncSession, decision: Decision, *, active: ActiveConfig, lead_id: str,
                 lead: dict[str, Any], reason: str, now: datetime, queued_at: datetime | None = None) -> dict[str, Any]:
    """Store a decision as the lead's current assignment (or queue entry) and queue ``lead.assigned``."""
    await session.execute(_SUPERSEDE, {"lead": lead_id})
    row = assignment_row(decision, active=active, lead_id=lead_id, reason=reason, now=now, queued_at=queued_at)
    await session.execute(_INSERT_ASSIGNMENTS, [row])
    if decision.queued:
        return row
    await save_cursor(session, decision.team, decision.cursor, now=now)
    await add_to_outbox(session, tables.outbox, assigned_event(decision, active=active, lead_id=lead_id, lead=lead,
                                                               reason=reason, now=now))
    return row


async def route_received_lead(session: AsyncSession, received: LeadReceived, *, active: ActiveConfig,
                              now: datetime) -> dict[str, Any] | None:
    """Route a newly received lead once; a lead that already has an assignment is left alone."""
    await lock_lead(session, received.lead_id)
    existing = (await session.execute(_KNOWN_LEADS, {"lead_ids": [received.lead_id]})).first()
    if existing is not None:
        return None
    lead = received.model_dump(mode="json")
    await session.execute(_INSERT_LEADS, [{
        "lead_id": received.lead_id, "email": received.email, "email_domain": company_domain(received.email),
        "data": lead, "received_at": received.received_at}])
    decision = await plan(session, active, lead, lead_id=received.lead_id, now=now, lock=True)
    return await record(session, decision, active=active, lead_id=received.lead_id, lead=lead, reason="initial",
                        now=now)


async def owners_by_contact(session: AsyncSession, active: ActiveConfig, leads: list[dict[str, Any]], *,
                            now: datetime) -> tuple[dict[str, OwnerCandidate], dict[str, OwnerCandidate]]:
    """``find_owner`` for a whole batch, in at most two queries: the owner of the most recent earlier lead
    by email, and by company domain (when enabled)."""
    ownership = active.parsed.ownership
    since = now - timedelta(days=ownership.lookback_days)
    found: list[dict[str, OwnerCandidate]] = []
    for label, keys in (
            ("email", {lead["email"] for lead in leads if lead.get("email")}),
            ("company domain",
             {d for lead in leads if (d := company_domain(lead.get("email")))} if ownership.match_company_domain
             else set())):
        owners: dict[str, OwnerCandidate] = {}
        if keys:
            owners = await _owners_of_earlier_leads(
                session, _EARLIER[(label, False)], {"keys": sorted(keys), "since": since}, label)
        found.append(owners)
    return found[0], found[1]


async def route_received_leads(session: AsyncSession, received: list[LeadReceived], *, active: ActiveConfig,
                               now: datetime) -> list[dict[str, Any]]:
    """Route a batch of newly received leads with a handful of set-based statements, deciding them one after
    the other in memory exactly as ``route_received_lead`` would one per transaction: each decision sees the
    rotation, open-lead counts and ownership the earlier ones of the batch left. A lead already routed (a
    repeat) is left alone. Returns the stored rows, in order."""
    unique: dict[str, LeadReceived] = {}
    for one in received:
        unique.setdefault(one.lead_id, one)
    await lock_leads(session, list(unique))
    existing = set((await session.execute(_KNOWN_LEADS, {"lead_ids": list(unique)})).scalars())
    fresh = [one for lead_id, one in unique.items() if lead_id not in existing]
    if not fresh:
        return []
    leads = {one.lead_id: one.model_dump(mode="json") for one in fresh}
    await session.execute(_INSERT_LEADS, [
        {"lead_id": one.lead_id, "email": one.email, "email_domain": company_domain(one.email),
         "data": leads[one.lead_id], "received_at": one.received_at} for one in fresh])
    config = active.parsed
    by_email, by_domain = await owners_by_contact(session, active, list(leads.values()), now=now)
    outcomes = {lead_id: match_rules(config, lead) for lead_id, lead in leads.items()}
    known_teams = {team.id for team in config.teams}
    teams = {o.team for o in outcomes.values()} | {o.team for o in (*by_email.values(), *by_domain.values())
                                                   if o.team in known_teams}
    cursors = await lock_cursors(session, teams, now=now)
    rep_ids = {rep.id for team in config.teams if team.id in teams for rep in team.reps}
    rep_ids |= {o.rep_id for o in (*by_email.values(), *by_domain.values())}
    states = await rep_states(session, sorted(rep_ids))
    rows: list[dict[str, Any]] = []
    events: list[CloudEvent] = []
    moved: set[str] = set()
    for lead_id, lead in leads.items():
        email, domain = lead.get("email"), company_domain(lead.get("email"))
        owner = by_email.get(email) if email else None
        if owner is None and domain and config.ownership.match_company_domain:
            owner = by_domain.get(domain)
        decision = decide(config, lead, states=states, cursors=cursors, now=now, owner=owner,
                          outcome=outcomes[lead_id])
        rows.append(assignment_row(decision, active=active, lead_id=lead_id, reason="initial", now=now))
        if decision.queued:
            continue
        assert decision.rep_id is not None
        cursors[decision.team] = decision.cursor
        moved.add(decision.team)
        state = states.get(decision.rep_id, RepState())
        states[decision.rep_id] = replace(state, open_leads=state.open_leads + 1)
        # The next leads of this batch with the same contact belong to this rep, as they would one by one.
        mine = OwnerCandidate(decision.rep_id, decision.team, "")
        if email:
            by_email[email] = replace(mine, why=f"same email as lead {lead_id}")
        if domain:
            by_domain[domain] = replace(mine, why=f"same company domain as lead {lead_id}")
        events.append(assigned_event(decision, active=active, lead_id=lead_id, lead=lead, reason="initial",
                                     now=now))
    await session.execute(_INSERT_ASSIGNMENTS, rows)
    for team_id in sorted(moved):
        await save_cursor(session, team_id, cursors[team_id], now=now)
    await add_many_to_outbox(session, tables.outbox, events)
    return rows
