"""Every published event version must keep parsing: one frozen sample per event type and version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared import topics
from shared.events import EVENT_TYPES, CloudEvent, parse_data

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
