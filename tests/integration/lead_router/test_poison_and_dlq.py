"""The router over a real broker: poison on its topics goes to the DLQ, the consumer keeps routing, and the
DLQ is visible and replayable through the admin endpoints."""

from __future__ import annotations

import httpx
from aiokafka import AIOKafkaProducer

from shared import topics
from tests.integration.lead_router.conftest import Router, assignment_of, received, send_lead
from tests.support import eventually, read_raw

DLQ = topics.dead_letter_topic(topics.LEADS_RECEIVED)
PII = "jane.doe@example.com"


async def _send_raw(kafka: str, messages: list[bytes | None], *, key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for value in messages:
            await producer.send_and_wait(topics.LEADS_RECEIVED, value, key=key)
    finally:
        await producer.stop()


async def test_poison_is_dead_lettered_the_router_keeps_routing_and_the_dlq_is_listed_without_pii(
        router: Router) -> None:
    invalid = received("lead-bad", email=PII).model_copy(update={"data": {"lead_id": "lead-bad", "email": PII,
                                                                          "source": ["a", "list"]}})
    await _send_raw(router.kafka, [None, b"[" * 60_000 + b"]" * 60_000, b"{oops", invalid.to_bytes()],
                    key=b"lead-good")  # same key as the good lead: the same partition, in front of it
    await send_lead(router.kafka, "lead-good", country="US", intent="demo_request")
    body = await eventually(assignment_of(router, "lead-good"), what="the good lead's assignment")
    assert body["current"]["team"] == "na"

    dead = await read_raw(router.kafka, DLQ, count=4)
    reasons = [dict(r.headers)["error-reason"].decode() for r in dead]
    assert reasons == ["tombstone", "too_deep", "undecodable", "invalid_event"]
    assert all(PII.encode() not in b"".join(v for _, v in r.headers) for r in dead)
    assert (await router.http.get("/healthz")).status_code == 200
    ready = await router.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["consumer"] == "ok"

    async with httpx.AsyncClient(base_url=str(router.http.base_url)) as anonymous:
        assert (await anonymous.get("/v1/admin/dlq")).status_code == 401
        assert (await anonymous.post("/v1/admin/dlq/replay")).status_code == 401
    listing = await router.http.get("/v1/admin/dlq")
    assert listing.status_code == 200
    parked = listing.json()["topics"][DLQ]
    assert parked["count"] == 4 and parked["not_replayed"] == 4
    assert PII not in listing.text and "60000" not in listing.text
    assert {e["error_reason"] for e in parked["recent"]} == set(reasons)

    first = (await router.http.post("/v1/admin/dlq/replay")).json()
    assert first == {"replayed": 1, "skipped": 3}  # bytes that can never decode are not worth replaying
    # The replayed event is invalid still: it is parked again as a new entry, and the router lives on.
    await read_raw(router.kafka, DLQ, count=5)
    await send_lead(router.kafka, "lead-after", country="US", intent="demo_request")
    await eventually(assignment_of(router, "lead-after"), what="a lead after the replay")
    after = (await router.http.get("/v1/admin/dlq")).json()["topics"][DLQ]
    assert after["count"] == 5 and after["not_replayed"] == 1
    assert (await router.http.get("/healthz")).status_code == 200
