"""One limit per field, defined in ``shared.events.limits``: every service's columns hold what intake accepts."""

from __future__ import annotations

import pytest
from sqlalchemy import String, Table

from intake import tables as intake_tables
from intake.activities import ActivitySubmission
from lead_router import tables as router_tables
from shared.events import ActivityRecorded, LeadAssigned, limits
from sla_monitor import tables as sla_tables

COLUMNS: list[tuple[Table, str, int]] = [
    (sla_tables.touches, "status", limits.MAX_STATUS),
    (sla_tables.touches, "rep_id", limits.MAX_REP_ID),
    (sla_tables.touches, "activity_id", limits.MAX_ACTIVITY_ID),
    (sla_tables.clocks, "rep_id", limits.MAX_REP_ID),
    (sla_tables.clocks, "team", limits.MAX_TEAM_ID),
    (sla_tables.clocks, "source", limits.MAX_SLUG),
    (sla_tables.clocks, "campaign", limits.MAX_TEXT),
    (router_tables.assignments, "rep_id", limits.MAX_REP_ID),
    (router_tables.assignments, "team", limits.MAX_TEAM_ID),
    (router_tables.assignments, "rule_id", limits.MAX_RULE_ID),
    (router_tables.rep_states, "rep_id", limits.MAX_REP_ID),
    (router_tables.leads, "email", limits.MAX_EMAIL),
    (intake_tables.activities, "activity_id", limits.MAX_ACTIVITY_ID),
    (intake_tables.leads, "email", limits.MAX_EMAIL),
]


@pytest.mark.parametrize(("table", "column", "limit"), COLUMNS, ids=[f"{t.name}.{c}" for t, c, _ in COLUMNS])
def test_every_column_is_exactly_as_wide_as_its_field_limit(table: Table, column: str, limit: int) -> None:
    kind = table.c[column].type
    assert isinstance(kind, String) and kind.length == limit


@pytest.mark.parametrize(("field", "limit"), [("status", limits.MAX_STATUS), ("rep_id", limits.MAX_REP_ID),
                                              ("outcome", limits.MAX_OUTCOME),
                                              ("activity_id", limits.MAX_ACTIVITY_ID)])
def test_intake_and_the_event_contract_take_the_same_limit(field: str, limit: int) -> None:
    assert _max_length(ActivitySubmission, field) == limit == _max_length(ActivityRecorded, field)


def test_assignment_events_carry_the_limits_of_the_router_columns() -> None:
    assert _max_length(LeadAssigned, "rep_id") == limits.MAX_REP_ID
    assert _max_length(LeadAssigned, "team") == limits.MAX_TEAM_ID


def _max_length(model: type, field: str) -> int | None:
    for meta in model.model_fields[field].metadata:  # type: ignore[attr-defined]
        if hasattr(meta, "max_length"):
            return int(meta.max_length)
    return None
