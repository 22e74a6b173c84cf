"""Lead identity across CRMs: which lead a CRM's record is, and CRM activities for records not known yet.

A lead carries ``external_ids`` (CRM name -> that CRM's id for the person): given at intake, or learned
later from ``lead.linked`` (leadrouter wrote the lead into the CRM and got its id back). Each one is a row of
``lead_external_ids``; the first lead to claim an id keeps it.

A CRM activity names the CRM's record, not the lead. ``record_crm_activity`` resolves it through those rows;
an activity for an id not known yet is *parked* in ``unmatched_activities`` and recorded (stored with its
``activity.recorded`` event, in the same transaction) the moment a lead gets that id. The SLA clock does not
care in which order the assignment and a touch arrive, so a touch applied late still meets the clock as of
the time it occurred. Ops list what is still parked with ``GET /v1/integrations/unmatched``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake import tables
from intake.activity_store import store_activity
from shared.events import ActivityRecorded
from shared.events.activities import ActivityType, Direction
from shared.events.crm import CrmName

RecordOutcome = Literal["accepted", "duplicate", "unmatched"]


@dataclass(frozen=True)
class CrmActivity:
    """One activity as a CRM adapter understood it, naming the CRM's record of the person."""

    crm: CrmName
    #: The CRM's id for the person (HubSpot contact id, Salesforce WhoId, Pipedrive person id, Close lead id).
    external_id: str
    #: Unique across CRMs: starts with ``<crm>:`` followed by the adapter's dedupe key.
    activity_id: str
    type: ActivityType
    direction: Direction | None
    occurred_at: datetime
    #: The CRM's owner or user id, as given.
    rep_id: str | None = None
    outcome: str | None = None
    status: str | None = None

    def recorded(self, lead_id: str, *, now: datetime) -> ActivityRecorded:
        return ActivityRecorded(lead_id=lead_id, activity_id=self.activity_id, type=self.type,
                                direction=self.direction, rep_id=self.rep_id, occurred_at=self.occurred_at,
                                outcome=self.outcome, status=self.status, received_at=now)

    def to_row(self) -> dict[str, Any]:
        fields = asdict(self)
        fields["occurred_at"] = self.occurred_at.isoformat()
        return fields

    @classmethod
    def from_row(cls, fields: Mapping[str, Any]) -> CrmActivity:
        return cls(**{**fields, "occurred_at": datetime.fromisoformat(fields["occurred_at"])})


async def lead_for(session: AsyncSession, crm: str, external_id: str) -> str | None:
    """The lead known in ``crm`` as ``external_id``, or None."""
    links = tables.lead_external_ids
    row = (await session.execute(select(links.c.lead_id).where(
        links.c.crm == crm, links.c.external_id == external_id))).first()
    return row.lead_id if row else None


async def external_ids_of(session: AsyncSession, lead_id: str) -> dict[str, str]:
    """Every CRM id this lead is known by (given at intake or learned since)."""
    links = tables.lead_external_ids
    rows = await session.execute(select(links.c.crm, links.c.external_id).where(links.c.lead_id == lead_id)
                                 .order_by(links.c.linked_at))
    found: dict[str, str] = {}
    for row in rows:
        found.setdefault(row.crm, row.external_id)
    return found


async def _is_known(session: AsyncSession, activity_id: str) -> bool:
    for table in (tables.activities, tables.unmatched_activities):
        if (await session.execute(select(table.c.activity_id).where(table.c.activity_id == activity_id))).first():
            return True
    return False


async def record_crm_activity(session: AsyncSession, activity: CrmActivity, *,
                              now: datetime) -> tuple[str | None, RecordOutcome]:
    """Record the activity for the lead its CRM record belongs to, or park it until that lead is known.

    Returns ``(lead_id, "accepted")``, ``(lead_id or None, "duplicate")`` for an ``activity_id`` seen before, or
    ``(None, "unmatched")`` when parked. The caller commits (and wakes the relay when something was accepted).
    """
    existing = (await session.execute(select(tables.activities.c.lead_id).where(
        tables.activities.c.activity_id == activity.activity_id))).first()
    if existing is not None:
        return existing.lead_id, "duplicate"
    if await _is_known(session, activity.activity_id):
        return None, "duplicate"
    lead_id = await lead_for(session, activity.crm, activity.external_id)
    if lead_id is None:
        await session.execute(insert(tables.unmatched_activities).values(
            activity_id=activity.activity_id, crm=activity.crm, external_id=activity.external_id,
            data=activity.to_row(), received_at=now))
        return None, "unmatched"
    await store_activity(session, activity.recorded(lead_id, now=now), now=now)
    return lead_id, "accepted"


async def record_crm_activities(session_factory: async_sessionmaker[AsyncSession], activities: Sequence[CrmActivity],
                                *, now: datetime) -> list[tuple[str | None, RecordOutcome]]:
    """Record a provider's batch in one transaction; if a concurrent delivery of the same events got there
    first (a unique key), redo it one activity per transaction so each still ends up recorded exactly once."""
    try:
        async with session_factory() as session, session.begin():
            return [await record_crm_activity(session, activity, now=now) for activity in activities]
    except IntegrityError:
        outcomes = []
        for activity in activities:
            try:
                async with session_factory() as session, session.begin():
                    outcomes.append(await record_crm_activity(session, activity, now=now))
            except IntegrityError:
                async with session_factory() as session, session.begin():
                    outcomes.append(await record_crm_activity(session, activity, now=now))
        return outcomes


async def link_external_ids(session: AsyncSession, lead_id: str, external_ids: Mapping[CrmName, str], *,
                            now: datetime) -> int:
    """Give the lead these CRM ids (an id another lead already has stays that lead's), then record the
    activities parked for them; return how many were recorded. The caller commits."""
    if not external_ids:
        return 0
    links = tables.lead_external_ids
    dialect = session.get_bind().dialect.name
    insert_links = (postgres_insert if dialect == "postgresql" else sqlite_insert)(links)
    await session.execute(insert_links.values([
        {"crm": crm, "external_id": external_id, "lead_id": lead_id, "linked_at": now}
        for crm, external_id in sorted(external_ids.items())]).on_conflict_do_nothing())
    return await apply_parked(session, external_ids, now=now)


async def apply_parked(session: AsyncSession, external_ids: Mapping[CrmName, str], *, now: datetime) -> int:
    """Record the parked activities of these CRM ids for the leads now known by them."""
    parked_table, links = tables.unmatched_activities, tables.lead_external_ids
    ids = [and_(parked_table.c.crm == crm, parked_table.c.external_id == external_id)
           for crm, external_id in external_ids.items()]
    parked = (await session.execute(
        select(parked_table.c.activity_id, parked_table.c.data, links.c.lead_id)
        .join(links, and_(links.c.crm == parked_table.c.crm, links.c.external_id == parked_table.c.external_id))
        .where(or_(*ids)).order_by(parked_table.c.received_at, parked_table.c.activity_id)
        .with_for_update(of=parked_table, skip_locked=True)
    )).all()
    for row in parked:
        activity = CrmActivity.from_row(row.data)
        await store_activity(session, activity.recorded(row.lead_id, now=now), now=now)
    if parked:
        await session.execute(delete(parked_table).where(
            parked_table.c.activity_id.in_([row.activity_id for row in parked])))
    return len(parked)


async def unmatched(session: AsyncSession, *, crm: str | None, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """The parked activities, oldest first (at most ``limit``), and how many there are in all."""
    parked = tables.unmatched_activities
    where = [parked.c.crm == crm] if crm else []
    total = (await session.execute(select(func.count()).select_from(parked).where(*where))).scalar_one()
    rows = await session.execute(select(parked).where(*where)
                                 .order_by(parked.c.received_at, parked.c.activity_id).limit(limit))
    items = [{"crm": row.crm, "external_id": row.external_id, "activity_id": row.activity_id,
              "type": row.data.get("type"), "direction": row.data.get("direction"),
              "occurred_at": row.data.get("occurred_at"), "received_at": row.received_at.isoformat()}
             for row in rows]
    return int(total), items

