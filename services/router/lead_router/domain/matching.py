"""Rule matching: the first rule (by ascending priority) whose every condition holds wins.

Every check is recorded in words, so a sales manager can read why a rule matched or was skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lead_router.domain.config import Match, Range, RoutingConfig, Rule, Urgency

LEAD_MATCH_FIELDS = ("country", "region", "postal_code", "industry", "employees", "source", "intent")


@dataclass(frozen=True)
class RuleOutcome:
    team: str
    urgency: Urgency
    rule_id: str | None  # None: the fallback
    explanation: list[str]


def _fmt(values: list[str]) -> str:
    return "[" + ", ".join(values) + "]"


def _any_of(field: str, value: Any, allowed: list[str]) -> tuple[bool, str]:
    if value is None:
        return False, f"{field} is missing (needs one of {_fmt(allowed)})"
    held = str(value).casefold() in {a.casefold() for a in allowed}
    return held, f"{field} {value} is {'' if held else 'not '}in {_fmt(allowed)}"


def _prefix(value: Any, prefixes: list[str]) -> tuple[bool, str]:
    if value is None:
        return False, f"postal_code is missing (needs a prefix in {_fmt(prefixes)})"
    held = any(str(value).casefold().startswith(p.casefold()) for p in prefixes)
    return held, f"postal_code {value} {'starts' if held else 'does not start'} with one of {_fmt(prefixes)}"


def _within(value: Any, bounds: Range) -> tuple[bool, str]:
    low = "" if bounds.min is None else str(bounds.min)
    high = "" if bounds.max is None else str(bounds.max)
    span = f"{low or '0'}-{high}" if high else f"at least {low}"
    if value is None:
        return False, f"employees is missing (needs {span})"
    held = (bounds.min is None or value >= bounds.min) and (bounds.max is None or value <= bounds.max)
    return held, f"employees {value} is {'within' if held else 'outside'} {span}"


def check_conditions(match: Match, lead: dict[str, Any]) -> list[tuple[bool, str]]:
    """Each condition of ``match`` in document order, with whether it held and why; stops at the first failure."""
    checks: list[tuple[bool, str]] = []
    for field in ("country", "region"):
        allowed = getattr(match, field)
        if allowed is not None:
            checks.append(_any_of(field, lead.get(field), allowed))
            if not checks[-1][0]:
                return checks
    if match.postal_code_prefix is not None:
        checks.append(_prefix(lead.get("postal_code"), match.postal_code_prefix))
        if not checks[-1][0]:
            return checks
    if match.industry is not None:
        checks.append(_any_of("industry", lead.get("industry"), match.industry))
        if not checks[-1][0]:
            return checks
    if match.employees is not None:
        checks.append(_within(lead.get("employees"), match.employees))
        if not checks[-1][0]:
            return checks
    for field in ("source", "intent"):
        allowed = getattr(match, field)
        if allowed is not None:
            checks.append(_any_of(field, lead.get(field), allowed))
            if not checks[-1][0]:
                return checks
    return checks


def rule_holds(rule: Rule, lead: dict[str, Any]) -> tuple[bool, str]:
    checks = check_conditions(rule.match, lead)
    held = all(ok for ok, _ in checks)
    reasons = "; ".join(reason for _, reason in checks) or "no conditions"
    return held, f"rule {rule.id}: {reasons} — {'matched' if held else 'skipped'}"


def match_rules(config: RoutingConfig, lead: dict[str, Any]) -> RuleOutcome:
    """The team and urgency for ``lead``: the first matching rule, else the fallback."""
    explanation: list[str] = []
    for rule in config.rules_in_order():
        held, line = rule_holds(rule, lead)
        explanation.append(line)
        if held:
            return RuleOutcome(rule.team, rule.urgency, rule.id, explanation)
    explanation.append(f"no rule matched: fallback to team {config.fallback.team}, urgency {config.fallback.urgency}")
    return RuleOutcome(config.fallback.team, config.fallback.urgency, None, explanation)
