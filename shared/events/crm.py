"""The CRMs leadrouter knows a lead by, and ``lead.linked``: a lead learned its id in one of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field, StringConstraints

from shared import topics
from shared.events import limits
from shared.events.envelope import EventData

CrmName = Literal["hubspot", "salesforce", "pipedrive", "close"]
CRM_NAMES: tuple[str, ...] = get_args(CrmName)

#: A CRM's id for a person: printable, trimmed, bounded.
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=limits.MAX_EXTERNAL_ID, pattern=r"^[^\x00-\x1f]+$")]
#: ``external_ids`` of a lead: CRM name -> that CRM's id for the person.
ExternalIds = dict[CrmName, ExternalId]


class LeadLinked(EventData):
    """The lead is known in ``crm`` as ``external_id`` (leadrouter wrote it there, or the CRM told us)."""

    event_type: ClassVar[str] = "lead.linked"
    topic: ClassVar[str] = topics.LEADS_ACTIVITY

    crm: CrmName
    external_id: Annotated[str, Field(max_length=limits.MAX_EXTERNAL_ID)]
    linked_at: datetime | None = None
