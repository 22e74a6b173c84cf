"""Small builders for routing documents in unit tests."""

from __future__ import annotations

from typing import Any

from lead_router.domain.config import RoutingConfig, parse_document


def document(*, strategy: str = "round_robin", reps: list[dict[str, Any]] | None = None,
             rules: list[dict[str, Any]] | None = None, **team: Any) -> dict[str, Any]:
    return {
        "teams": [{"id": "na", "strategy": strategy,
                   "reps": reps or [{"id": "rep-a"}, {"id": "rep-b"}, {"id": "rep-c"}], **team},
                  {"id": "desk", "reps": [{"id": "rep-x"}]}],
        "rules": rules if rules is not None else [
            {"id": "us-demo", "priority": 10, "match": {"country": ["US"], "intent": ["demo_request"]},
             "team": "na", "urgency": "hot"}],
        "fallback": {"team": "desk", "urgency": "warm"},
    }


def config(**kwargs: Any) -> RoutingConfig:
    return parse_document(document(**kwargs))
