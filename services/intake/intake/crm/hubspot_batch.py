"""One HubSpot webhook batch: map each event, look engagements up in HubSpot's API, record what maps.

Every event stands alone: a malformed one is rejected (logged and counted, never echoed), the others are
recorded. Engagements whose lookup could not finish make ``unavailable`` say why; everything else of the batch
is recorded all the same, and the route answers 503 so HubSpot delivers the batch again (what was recorded is a
duplicate then, and has no second effect).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake.crm import Skipped, hubspot
from intake.crm.hubspot_api import HubSpotUnavailable, look_up
from intake.identity import CrmActivity, record_crm_activities
from intake.metrics import ACTIVITIES_RECORDED, HUBSPOT_EVENTS
from shared.logging import get_logger

log = get_logger(__name__)
_PROBE_LEAD_ID = "0" * 36


@dataclass
class BatchOutcome:
    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[hubspot.Rejected] = field(default_factory=list)
    #: Why some engagements could not be looked up (the batch must be delivered again), or None.
    unavailable: str | None = None

    def summary(self) -> dict[str, Any]:
        outcomes = ("accepted", "duplicate", "unmatched", "skipped", "rejected")
        return {**{name: self.counts[name] for name in outcomes},
                "errors": [{"index": r.index, "message": r.message} for r in self.rejected]}


async def record_batch(events: Sequence[Any], *, session_factory: async_sessionmaker[AsyncSession],
                       access_token: str | None, api_url: str, now: datetime,
                       transport: httpx.AsyncBaseTransport | None = None) -> BatchOutcome:
    outcome = BatchOutcome()
    #: Each activity with the index of the event it came from (to name it if it cannot be recorded).
    activities: list[tuple[int, CrmActivity]] = []
    engagements: dict[tuple[str, str], tuple[int, hubspot.EngagementCreated]] = {}
    for index, parsed in enumerate(hubspot.parse_batch(events)):
        if isinstance(parsed, CrmActivity):
            activities.append((index, parsed))
        elif isinstance(parsed, hubspot.EngagementCreated):
            engagements.setdefault((parsed.object_type, parsed.object_id), (index, parsed))
        elif isinstance(parsed, hubspot.Rejected):
            _reject(outcome, parsed)
        else:
            outcome.counts["skipped"] += 1

    if engagements and not access_token:
        # Without a token nobody can say whose call it was: acknowledged, counted, not recorded.
        outcome.counts["skipped"] += len(engagements)
        HUBSPOT_EVENTS.labels(outcome="engagement_without_token").inc(len(engagements))
        log.info("hubspot.engagements_skipped", count=len(engagements), reason="HUBSPOT_ACCESS_TOKEN is not set")
    elif engagements:
        index_of = {created: index for index, created in engagements.values()}
        try:
            lookups = await look_up(list(index_of), api_url=api_url, token=access_token or "", transport=transport)
        except HubSpotUnavailable as exc:
            outcome.unavailable = str(exc)
            HUBSPOT_EVENTS.labels(outcome="lookup_failed").inc(len(engagements))
            log.warning("hubspot.lookup_failed", engagements=len(engagements), error=str(exc))
            lookups = []
        for lookup in lookups:
            mapped = (hubspot.engagement_activities(lookup.created, lookup.contact_ids, lookup.properties or {})
                      if lookup.found else Skipped(lookup.created.object_id, "The engagement no longer exists."))
            if isinstance(mapped, Skipped):
                outcome.counts["skipped"] += 1
            else:
                activities.extend((index_of[lookup.created], activity) for activity in mapped)

    valid = []
    for index, activity in activities:
        try:
            activity.recorded(_PROBE_LEAD_ID, now=now)
        except ValidationError as exc:
            _reject(outcome, hubspot.Rejected(index, f"The event maps to an activity with {exc.error_count()} "
                                                     "field(s) out of bounds."))
            continue
        valid.append(activity)
    if valid:
        outcomes = await record_crm_activities(session_factory, valid, now=now)
        for activity, (_lead_id, recorded) in zip(valid, outcomes, strict=True):
            outcome.counts[recorded] += 1
            if recorded == "accepted":
                ACTIVITIES_RECORDED.labels(type=activity.type).inc()
    for name in ("accepted", "duplicate", "unmatched", "skipped"):
        if outcome.counts[name]:
            HUBSPOT_EVENTS.labels(outcome=name).inc(outcome.counts[name])
    log.info("hubspot.batch", events=len(events), **{k: v for k, v in outcome.counts.items()},
             retry=outcome.unavailable is not None)
    return outcome


def _reject(outcome: BatchOutcome, rejected: hubspot.Rejected) -> None:
    outcome.rejected.append(rejected)
    outcome.counts["rejected"] += 1
    HUBSPOT_EVENTS.labels(outcome="rejected").inc()
    log.warning("hubspot.event_rejected", index=rejected.index, reason=rejected.message)
