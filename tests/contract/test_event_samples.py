"""Every published event version must keep parsing: one frozen sample per event type and version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared import topics
from shared.events import EVENT_TYPES, CloudEvent, UnknownEventVersion, parse_data, upcast

SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.json"))
CONTRACT_TOPICS = {
    "lead.received": topics.LEADS_RECEIVED, "lead.assigned": topics.LEADS_ASSIGNED,
    "activity.recorded": topics.LEADS_ACTIVITY, "sla.warning": topics.SLA_ALERTS,
    "sla.breached": topics.SLA_ALERTS, "sla.met": topics.SLA_ALERTS,
}


def test_every_event_type_has_a_sample() -> None:
    assert {p.name.split(".v")[0] for p in SAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_a_sample_parses_and_round_trips(sample: Path) -> None:
    raw = sample.read_bytes()
    event = CloudEvent.from_bytes(raw)
    data = parse_data(event)
    assert event.specversion == "1.0" and event.datacontenttype == "application/json"
    assert event.subject == data.lead_id
    assert CloudEvent.wrap(data, source=event.source, event_id=event.id, time=event.time).data == event.data


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_unknown_fields_from_newer_producers_are_ignored(sample: Path) -> None:
    payload = json.loads(sample.read_text())
    payload["data"]["added_in_a_later_version"] = {"any": "thing"}
    payload["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    data = parse_data(CloudEvent.model_validate(payload))
    assert not hasattr(data, "added_in_a_later_version")


def test_event_types_travel_on_the_contract_topics() -> None:
    for event_type, topic in CONTRACT_TOPICS.items():
        assert EVENT_TYPES[event_type].topic == topic


def test_a_message_that_is_not_a_cloudevent_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        CloudEvent.from_bytes(b"\x00garbage")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_a_sample_names_its_version_and_matches_its_file_name(sample: Path) -> None:
    payload = json.loads(sample.read_text())
    version = int(sample.stem.rsplit(".v", 1)[1])
    assert payload["dataversion"] == version
    assert EVENT_TYPES[payload["type"]].data_version >= version


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_an_event_written_before_versions_existed_reads_as_version_1(sample: Path) -> None:
    payload = json.loads(sample.read_text())
    payload.pop("dataversion")
    event = CloudEvent.model_validate(payload)
    assert event.dataversion == 1
    parse_data(event)


def test_a_new_event_carries_the_version_of_its_data() -> None:
    event = CloudEvent.from_bytes((SAMPLES[0]).read_bytes())
    wrapped = CloudEvent.wrap(parse_data(event), source="test")
    assert json.loads(wrapped.to_bytes())["dataversion"] == EVENT_TYPES[event.type].data_version


def test_older_versions_are_upcast_in_order_before_validation() -> None:
    upcasts = {
        ("lead.assigned", 1): lambda data: {"owner": data.pop("rep_id"), **data},
        ("lead.assigned", 2): lambda data: {**data, "owner": {"id": data["owner"]}},
    }
    v1 = {"lead_id": "l1", "rep_id": "rep-ana"}
    assert upcast("lead.assigned", 1, v1, current=3, upcasts=upcasts) == {"lead_id": "l1",
                                                                            "owner": {"id": "rep-ana"}}
    assert upcast("lead.assigned", 2, {"lead_id": "l1", "owner": "x"}, current=3,
                  upcasts=upcasts)["owner"] == {"id": "x"}
    assert upcast("lead.assigned", 3, {"lead_id": "l1"}, current=3, upcasts=upcasts) == {"lead_id": "l1"}
    assert v1 == {"lead_id": "l1", "rep_id": "rep-ana"}  # the caller's data is left as it was


def test_a_version_no_upcast_leads_from_is_refused_clearly() -> None:
    with pytest.raises(UnknownEventVersion, match="version 1 cannot be read"):
        upcast("lead.assigned", 1, {"lead_id": "l1"}, current=2, upcasts={})


def test_parse_data_runs_the_upcasts_of_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.events import upcasting
    from shared.events.leads import LeadAssigned

    monkeypatch.setattr(LeadAssigned, "data_version", 2)
    monkeypatch.setitem(upcasting.UPCASTS, ("lead.assigned", 1),
                        lambda data: {**data, "rule_id": f"v1:{data['rule_id']}"})
    sample = next(p for p in SAMPLES if p.name.startswith("lead.assigned.v1"))
    data = parse_data(CloudEvent.from_bytes(sample.read_bytes()))
    assert isinstance(data, LeadAssigned) and data.rule_id == "v1:us-fintech-demo"


def test_an_assignment_from_before_rep_details_existed_still_parses_without_them() -> None:
    from shared.events.leads import LeadAssigned

    payload = json.loads(next(p for p in SAMPLES if p.name.startswith("lead.assigned.v1")).read_text())
    payload["data"].pop("rep")
    data = parse_data(CloudEvent.model_validate(payload))
    assert isinstance(data, LeadAssigned) and data.rep is None and data.rep_id == "rep-ana"


def test_an_odd_rep_detail_from_a_newer_router_does_not_stop_an_assignment_from_being_read() -> None:
    from shared.events.leads import LeadAssigned

    payload = json.loads(next(p for p in SAMPLES if p.name.startswith("lead.assigned.v1")).read_text())
    payload["data"]["rep"] = {"slack_user_id": "not-a-member-id", "crm": {"zoho_user_id": "7"}, "pager": "x"}
    data = parse_data(CloudEvent.model_validate(payload))
    assert isinstance(data, LeadAssigned) and data.rep is not None
    assert data.rep.slack_user_id == "not-a-member-id" and data.rep.crm.hubspot_owner_id is None
