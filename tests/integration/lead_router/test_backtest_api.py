"""Checking a draft, rolling back to an old version, and backtesting a draft over leads the router really routed,
over real HTTP, a real broker and a real database."""

from __future__ import annotations

import copy

import yaml

from tests.integration.lead_router.conftest import DOCUMENT, Router, assignment_of, send_lead
from tests.support import eventually

LEADS = [
    ("us-1", {"country": "US", "intent": "demo_request", "email": "ann@acme.com"}),
    ("br-1", {"country": "BR", "email": "bo@example.org"}),
    ("us-2", {"country": "US", "intent": "demo_request"}),
    ("us-3", {"country": "US", "intent": "pricing"}),  # not a demo: the fallback
    ("us-4", {"country": "US", "intent": "demo_request", "email": "ann@acme.com"}),  # returning contact: ann's rep
    ("us-5", {"country": "US", "intent": "demo_request"}),
    ("br-2", {"country": "BR"}),
    ("us-6", {"country": "US", "intent": "demo_request"}),
]


async def _route_leads(router: Router) -> None:
    for lead_id, fields in LEADS:
        await send_lead(router.kafka, lead_id, **fields)
        await eventually(assignment_of(router, lead_id))  # one after the other: received order is known


async def test_a_backtest_of_the_current_document_reproduces_what_actually_happened(router: Router) -> None:
    await _route_leads(router)
    answer = await router.http.post("/v1/routing/backtest", json={"document": yaml.safe_dump(DOCUMENT), "days": 1})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["leads"], result["changed"], result["days"], result["current_version"]) == (8, 0, 1, 1)
    assert result["teams"] == [{"team": "desk", "actual": 3, "draft": 3}, {"team": "na", "actual": 5, "draft": 5}]
    assert all(rep["actual"] == rep["draft"] for rep in result["reps"])
    assert result["by_rep_urgency"]["draft"] == result["by_rep_urgency"]["actual"]
    assert isinstance(result["duration_ms"], int) and result["from"] < result["to"]


async def test_a_backtest_shows_where_a_changed_rule_would_have_sent_the_leads(router: Router) -> None:
    await _route_leads(router)
    draft = copy.deepcopy(DOCUMENT)
    draft["rules"][0]["team"] = "desk"
    draft["rules"][0]["urgency"] = "cold"
    result = (await router.http.post("/v1/routing/backtest", json={"document": draft, "days": 7})).json()
    # The five US demos move; the desk's rotation shifts under them, so br-1 moves too, while us-3 (the fallback)
    # lands on the rep it had anyway.
    assert (result["leads"], result["changed"]) == (8, 7)
    assert result["teams"] == [{"team": "desk", "actual": 3, "draft": 8}, {"team": "na", "actual": 5, "draft": 0}]
    draft_urgencies = {(row["urgency"], row["count"]) for row in result["by_rep_urgency"]["draft"]}
    assert sum(n for urgency, n in draft_urgencies if urgency == "cold") == 5
    assert (await router.http.get("/v1/routing/config")).json()["version"] == 1  # nothing was published


async def test_a_backtest_refuses_an_invalid_draft_naming_the_field(router: Router) -> None:
    broken = copy.deepcopy(DOCUMENT)
    broken["rules"][0]["team"] = "nobody"
    answer = await router.http.post("/v1/routing/backtest", json={"document": broken, "days": 30})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "document.rules[0].team", "message": "unknown team 'nobody'"}]
    unreadable = await router.http.post("/v1/routing/backtest", json={"document": "teams: [", "days": 30})
    assert unreadable.status_code == 422 and unreadable.json()["errors"][0]["field"] == "document"
    too_long = await router.http.post("/v1/routing/backtest", json={"document": DOCUMENT, "days": 91})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "days"


async def test_validate_lists_every_problem_and_stores_nothing(router: Router) -> None:
    ok = await router.http.post("/v1/routing/validate", content=yaml.safe_dump(DOCUMENT),
                                headers={"Content-Type": "application/yaml"})
    assert ok.status_code == 200 and ok.json() == {"valid": True}
    broken = copy.deepcopy(DOCUMENT)
    broken["teams"][0]["strategy"] = "coin_flip"
    broken["fallback"]["team"] = "nobody"
    answer = await router.http.post("/v1/routing/validate", json=broken)
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"teams[0].strategy", "fallback.team"}
    unreadable = await router.http.post("/v1/routing/validate", content=b"teams: [",
                                        headers={"Content-Type": "application/yaml"})
    assert unreadable.status_code == 422 and unreadable.json()["errors"][0]["field"] == "body"
    versions = (await router.http.get("/v1/routing/config/versions")).json()["versions"]
    assert [v["version"] for v in versions] == [1]


async def test_restore_makes_an_old_version_the_newest_and_routes_by_it(router: Router) -> None:
    changed = copy.deepcopy(DOCUMENT)
    changed["rules"][0]["team"] = "desk"
    assert (await router.http.put("/v1/routing/config", json=changed)).json()["version"] == 2
    answer = await router.http.post("/v1/routing/config/versions/1/restore")
    assert answer.status_code == 200
    assert answer.json()["version"] == 3 and answer.json()["document"] == DOCUMENT
    assert (await router.http.get("/v1/routing/config")).json() == {"version": 3, "document": DOCUMENT}
    versions = (await router.http.get("/v1/routing/config/versions")).json()["versions"]
    assert [(v["version"], v["origin"]) for v in versions] == [(3, "restore:1"), (2, "api"), (1, "file")]
    await send_lead(router.kafka, "after-rollback", country="US", intent="demo_request")
    assert (await eventually(assignment_of(router, "after-rollback")))["current"]["team"] == "na"
    missing = await router.http.post("/v1/routing/config/versions/99/restore")
    assert missing.status_code == 404
