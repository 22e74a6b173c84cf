"""Pipedrive webhooks v2: a done activity is a touch, anything else is acknowledged and skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from intake.crm import BadPayload, Skipped
from intake.crm.pipedrive import to_activity
from intake.identity import CrmActivity
from tests.unit.intake.crm_examples import PD_PERSON_ID, pd_activity


def test_an_activity_created_done_is_an_outbound_touch_at_its_done_time_in_utc() -> None:
    activity = to_activity(pd_activity())
    assert activity == CrmActivity(
        crm="pipedrive", external_id=str(PD_PERSON_ID), activity_id="pipedrive:a7c5f1b2-3d4e-4f60-8a9b-0c1d2e3f4a5b",
        type="call", direction="outbound", occurred_at=datetime(2026, 11, 27, 9, 30, 11, tzinfo=UTC), rep_id="1234")


def test_a_change_to_done_is_a_touch_and_other_changes_are_not() -> None:
    marked = to_activity(pd_activity("change", previous={"done": False, "marked_as_done_time": None}))
    assert isinstance(marked, CrmActivity) and marked.type == "call"
    edited = to_activity(pd_activity("change", previous={"subject": "Call"}))
    undone = to_activity(pd_activity("change", done=False, previous={"done": True}))
    created_open = to_activity(pd_activity(done=False))
    assert all(isinstance(item, Skipped) for item in (edited, undone, created_open))


@pytest.mark.parametrize(("pipedrive_type", "kind", "direction"), [
    ("call", "call", "outbound"), ("email", "email", "outbound"), ("meeting", "meeting", "outbound"),
    ("lunch", "meeting", "outbound"), ("task", "note", None), ("deadline", "note", None),
    ("custom_whatsapp", "note", None),
])
def test_types_map_and_unknown_ones_are_notes(pipedrive_type: str, kind: str, direction: str | None) -> None:
    activity = to_activity(pd_activity(activity_type=pipedrive_type))
    assert isinstance(activity, CrmActivity) and (activity.type, activity.direction) == (kind, direction)


def test_a_pipedrive_lead_uuid_identifies_when_there_is_no_person() -> None:
    activity = to_activity(pd_activity(person_id=None, lead_id="46c3b0e1-db35-59ca-1828-4817378dff71"))
    assert isinstance(activity, CrmActivity) and activity.external_id == "46c3b0e1-db35-59ca-1828-4817378dff71"
    assert isinstance(to_activity(pd_activity(person_id=None)), Skipped)
    wrapped = pd_activity()
    wrapped["data"]["person_id"] = {"value": PD_PERSON_ID, "name": "Person Name"}
    assert to_activity(wrapped) == to_activity(pd_activity())


def test_times_with_an_offset_and_without_a_done_time_fall_back_in_order() -> None:
    iso = to_activity(pd_activity(marked_as_done_time="2026-11-27T09:30:11Z"))
    assert isinstance(iso, CrmActivity) and iso.occurred_at == datetime(2026, 11, 27, 9, 30, 11, tzinfo=UTC)
    payload = pd_activity(marked_as_done_time=None)
    fallback = to_activity(payload)
    assert isinstance(fallback, CrmActivity) and fallback.occurred_at == datetime(2026, 11, 27, 9, 30, 11, tzinfo=UTC)


def test_other_entities_and_deletes_are_skipped() -> None:
    deal = pd_activity()
    deal["meta"]["entity"] = "deal"
    assert isinstance(to_activity(deal), Skipped)
    assert isinstance(to_activity(pd_activity("delete")), Skipped)


def _without(path: str) -> dict[str, Any]:
    payload = pd_activity()
    section, _, name = path.partition(".")
    if name:
        del payload[section][name]
    else:
        del payload[section]
    return payload


@pytest.mark.parametrize(("payload", "field"), [
    ([], "body"), (_without("meta"), "meta"), (_without("meta.id"), "meta.id"),
    (_without("meta.entity"), "meta.entity"), (_without("meta.action"), "meta.action"),
    (_without("data"), "data"), ({**pd_activity(), "data": {**pd_activity()["data"], "update_time": "x",
                                                            "marked_as_done_time": "later"}},
                                 "data.marked_as_done_time"),
    ({"meta": {"object": "activity", "action": "added", "id": 1}}, "meta.entity"),
])
def test_a_malformed_event_names_the_field(payload: Any, field: str) -> None:
    with pytest.raises(BadPayload) as refused:
        to_activity(payload)
    assert refused.value.field == field
