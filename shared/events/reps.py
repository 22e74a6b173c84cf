"""The rep an assignment went to, as ``lead.assigned`` carries it: how to reach them in chat and in each CRM.

The routing document validates these strictly (``lead_router.domain.config``); the event only bounds them, so a
reader never refuses an assignment because of a rep detail — renderers check the shape before using one.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.events import limits

#: A Slack member id: ``U`` (or ``W`` for Enterprise Grid users) and upper-case letters and digits.
SLACK_USER_ID_PATTERN = rf"^[UW][A-Z0-9]{{2,{limits.MAX_SLACK_USER_ID - 1}}}$"
_SLACK_USER_ID = re.compile(SLACK_USER_ID_PATTERN)

CrmUserId = Annotated[str | None, Field(max_length=limits.MAX_CRM_USER_ID)]


def is_slack_user_id(value: object) -> bool:
    """Whether ``value`` has the shape of a Slack member id (safe to put inside ``<@…>``)."""
    return isinstance(value, str) and _SLACK_USER_ID.fullmatch(value) is not None


class RepCrmIds(BaseModel):
    """The rep's own user id in each CRM, for setting the owner of the lead's record there."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    hubspot_owner_id: CrmUserId = None
    salesforce_user_id: CrmUserId = None
    pipedrive_user_id: CrmUserId = None
    close_user_id: CrmUserId = None


class AssignedRep(BaseModel):
    """The rep's name, work email and contact ids at the time of the assignment."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: Annotated[str | None, Field(max_length=limits.MAX_REP_NAME)] = None
    #: The rep's work email, for assignment emails (``SMTP_URL``).
    email: Annotated[str | None, Field(max_length=limits.MAX_EMAIL)] = None
    slack_user_id: Annotated[str | None, Field(max_length=limits.MAX_SLACK_USER_ID)] = None
    crm: RepCrmIds = RepCrmIds()
