"""``GET /v1/integrations/unmatched`` (admin): CRM activities waiting for a lead known by their CRM record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from intake.deps import require_admin
from intake.identity import unmatched
from shared.events.crm import CrmName
from shared.http import SessionDep

router = APIRouter(prefix="/v1/integrations", tags=["integrations"], dependencies=[Depends(require_admin)])


class UnmatchedAnswer(BaseModel):
    #: How many activities are waiting in all (``items`` holds the oldest, up to ``limit``).
    count: int
    items: list[dict[str, Any]]


@router.get("/unmatched", response_model=UnmatchedAnswer, responses={401: {}})
async def list_unmatched(session: SessionDep, crm: CrmName | None = None,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> UnmatchedAnswer:
    """CRM activities naming a record (contact, person, lead) no lead is linked to yet, oldest first. Each is
    recorded as soon as a lead gets that CRM id (at intake via ``external_ids``, or by ``lead.linked``)."""
    count, items = await unmatched(session, crm=crm, limit=limit)
    return UnmatchedAnswer(count=count, items=items)
