"""The routing document: teams with their reps and strategy, rules in priority order, and a fallback.

``parse_document`` validates a whole document and reports every problem with its path
(``rules[2].team: unknown team 'emea'``), so a bad document is refused before anything changes.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.events import limits
from shared.events.leads import Urgency
from shared.events.reps import SLACK_USER_ID_PATTERN
from shared.events.weekdays import Weekday
from shared.validation import TimeZone, errors_with_paths

Strategy = Literal["round_robin", "weighted", "least_loaded"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: Bounds of every number in the document, so nothing valid can overflow a date or a database integer later
#: (``lookback_days: 1000000`` used to pass and then fail every routing).
MAX_LOOKBACK_DAYS = 3650
MAX_QUEUE_TIMEOUT_MINUTES = 365 * 24 * 60
MAX_CAPACITY = 100_000
MAX_EMPLOYEES = 10_000_000_000
MAX_PRIORITY = 1_000_000_000


def _number_as_text(value: Any) -> Any:
    """YAML reads ``hubspot_owner_id: 41629779`` as a number; an id is text, so take its digits as written."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _shaped(pattern: str, what: str) -> AfterValidator:
    """A check that the text is ``what`` (a sentence naming the shape and an example), else a ValueError."""
    compiled = re.compile(pattern)

    def check(value: str | None) -> str | None:
        if value is not None and compiled.fullmatch(value) is None:
            raise ValueError(f"must be {what}")
        return value

    return AfterValidator(check)


NumericCrmId = Annotated[str | None, BeforeValidator(_number_as_text), Field(max_length=20),
                         _shaped(r"[0-9]+", "the user's number, e.g. 41629779")]
SalesforceUserId = Annotated[str | None, Field(max_length=18), _shaped(
    r"[A-Za-z0-9]{15}([A-Za-z0-9]{3})?", "a Salesforce id of 15 or 18 letters and digits, e.g. 005Dn000003xYzAIAU")]
CloseUserId = Annotated[str | None, Field(max_length=limits.MAX_CRM_USER_ID), _shaped(
    r"user_[A-Za-z0-9]+", "a Close user id, e.g. user_04EJPREurd0b3KDozVFqXSRbt2uBjw3Q")]
SlackUserId = Annotated[str | None, Field(max_length=limits.MAX_SLACK_USER_ID), _shaped(
    SLACK_USER_ID_PATTERN, "a Slack member id: U or W and capital letters and digits, e.g. U024BE7LH")]


class RepCrm(_Strict):
    """The rep's user id in each CRM (for setting the record's owner there); each optional.

    HubSpot owner ids and Pipedrive user ids are numbers, Salesforce user ids 15 or 18 letters and digits
    (``005…``), Close user ids ``user_…``."""

    hubspot_owner_id: NumericCrmId = None
    salesforce_user_id: SalesforceUserId = None
    pipedrive_user_id: NumericCrmId = None
    close_user_id: CloseUserId = None


class Rep(_Strict):
    id: str = Field(min_length=1, max_length=limits.MAX_REP_ID)
    name: str | None = Field(default=None, max_length=limits.MAX_REP_NAME)
    email: str | None = Field(default=None, max_length=limits.MAX_EMAIL)
    timezone: TimeZone = "UTC"
    weight: int = Field(default=1, ge=1, le=100)
    capacity: int | None = Field(default=None, ge=0, le=MAX_CAPACITY)
    #: The rep's Slack member id (Slack: profile → ⋮ → Copy member ID), mentioned as ``<@U…>`` in assignments.
    slack_user_id: SlackUserId = None
    crm: RepCrm = RepCrm()


class WorkingHours(_Strict):
    """Weekly hours, read in each rep's own time zone: ``{mon: ["09:00", "17:00"], ...}``."""

    days: dict[Weekday, tuple[str, str]]

    @field_validator("days")
    @classmethod
    def _hh_mm(cls, days: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        for day, (start, end) in days.items():
            if not (_is_hh_mm(start) and _is_hh_mm(end)) or start >= end:
                raise ValueError(f"{day}: hours must be 'HH:MM' with start before end, got {start}-{end}")
        return days


def _is_hh_mm(value: str) -> bool:
    return len(value) == 5 and value[2] == ":" and value[:2].isdigit() and value[3:].isdigit() \
        and int(value[:2]) < 24 and int(value[3:]) < 60


class Team(_Strict):
    id: str = Field(min_length=1, max_length=limits.MAX_TEAM_ID)
    strategy: Strategy = "round_robin"
    reps: list[Rep] = Field(min_length=1)
    working_hours: WorkingHours | None = None
    #: How long a lead may wait in this team's queue before it goes to the fallback team.
    queue_timeout_minutes: int | None = Field(default=None, ge=0, le=MAX_QUEUE_TIMEOUT_MINUTES)

    @model_validator(mode="after")
    def _unique_reps(self) -> Team:
        seen: set[str] = set()
        for rep in self.reps:
            if rep.id in seen:
                raise ValueError(f"duplicate rep id {rep.id!r}")
            seen.add(rep.id)
        return self


class Range(_Strict):
    min: int | None = Field(default=None, ge=0, le=MAX_EMPLOYEES)
    max: int | None = Field(default=None, ge=0, le=MAX_EMPLOYEES)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class Match(_Strict):
    """Conditions of a rule; each is optional, a list means any of its values."""

    country: list[str] | None = None
    region: list[str] | None = None
    postal_code_prefix: list[str] | None = None
    industry: list[str] | None = None
    employees: Range | None = None
    source: list[str] | None = None
    intent: list[str] | None = None

    @field_validator("country", "region", "postal_code_prefix", "industry", "source", "intent", mode="before")
    @classmethod
    def _scalar_to_list(cls, value: Any) -> Any:
        values = [value] if isinstance(value, str | int) else value
        if isinstance(values, list) and any(isinstance(v, bool) for v in values):
            raise ValueError("a value was read as true/false (YAML reads NO, YES, ON, OFF that way); "
                             "quote it, e.g. 'NO'")
        return values


class Rule(_Strict):
    id: str = Field(min_length=1, max_length=limits.MAX_RULE_ID)
    priority: int = Field(ge=-MAX_PRIORITY, le=MAX_PRIORITY)
    match: Match = Match()
    team: str
    urgency: Urgency


class Fallback(_Strict):
    team: str
    urgency: Urgency = "warm"


class Ownership(_Strict):
    """Send a returning contact to the rep who owns it (issue: ownership and duplicates)."""

    lookback_days: int = Field(default=90, ge=0, le=MAX_LOOKBACK_DAYS)
    match_company_domain: bool = False


class RoutingConfig(_Strict):
    teams: list[Team] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    fallback: Fallback
    ownership: Ownership = Ownership()

    def team(self, team_id: str) -> Team:
        return self._teams_by_id[team_id]

    def rules_in_order(self) -> list[Rule]:
        """Rules by ascending priority; equal priorities keep their document order."""
        return self._ordered_rules

    @cached_property
    def _ordered_rules(self) -> list[Rule]:
        return [rule for _, rule in sorted(enumerate(self.rules), key=lambda pair: (pair[1].priority, pair[0]))]

    @cached_property
    def _teams_by_id(self) -> dict[str, Team]:
        return {team.id: team for team in self.teams}


class InvalidDocument(ValueError):
    """A routing document with problems; ``errors`` lists each as ``{"path", "message"}``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


def parse_document(document: Any) -> RoutingConfig:
    """Validate a whole routing document; raise ``InvalidDocument`` listing every problem with its path.

    Field problems and cross-references (unknown teams, duplicate ids) are both reported in one go.
    """
    if not isinstance(document, dict):
        raise InvalidDocument([{"path": "", "message": "the routing document must be a mapping"}])
    errors = []
    try:
        config = RoutingConfig.model_validate(document)
    except ValidationError as exc:
        errors = errors_with_paths(exc)
    errors += reference_errors(document)
    if errors:
        raise InvalidDocument(errors)
    return config


def _items(document: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    value = document.get(key)
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    """An id or team reference, when it is text (anything else is reported by the field validation)."""
    return value if isinstance(value, str) else None


def _duplicates(items: list[tuple[int, dict[str, Any]]], prefix: str, what: str) -> list[dict[str, str]]:
    seen: set[str] = set()
    errors = []
    for index, item in items:
        item_id = _text(item.get("id"))
        if item_id is None:
            continue
        if item_id in seen:
            errors.append({"path": f"{prefix}[{index}].id", "message": f"duplicate {what} id {item_id!r}"})
        seen.add(item_id)
    return errors


def reference_errors(document: dict[str, Any]) -> list[dict[str, str]]:
    """Problems between parts of the document: duplicate team or rule ids, rules or fallback naming no team."""
    teams, rules = _items(document, "teams"), _items(document, "rules")
    team_ids = {_text(team.get("id")) for _, team in teams} - {None}
    errors = _duplicates(teams, "teams", "team") + _duplicates(rules, "rules", "rule")
    for index, rule in rules:
        if _text(rule.get("team")) is not None and rule["team"] not in team_ids:
            errors.append({"path": f"rules[{index}].team", "message": f"unknown team {rule['team']!r}"})
    fallback = document.get("fallback")
    if isinstance(fallback, dict) and _text(fallback.get("team")) is not None and fallback["team"] not in team_ids:
        errors.append({"path": "fallback.team", "message": f"unknown team {fallback['team']!r}"})
    return errors
