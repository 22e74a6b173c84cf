"""SLA policies per urgency: response window, warning, business hours, escalation and follow-up cadence.

```yaml
policies:
  hot:
    first_response: 30m
    warn_before: 5m
    business_hours: {timezone: Europe/Berlin, hours: {mon: "09:00-17:00", ...}, holidays: [2026-12-25]}
    clock_starts: assigned          # assigned | received | captured
    escalation: [{after: 30m, reassign: true}]    # level 2, 3, ... after the breach, while untouched
    follow_up: {touches: 5, within: 14d, max_gap: 3d}
```
Every duration is at most 365 days and every list is bounded, so a document that validates can always be
computed with: a clock's due time, escalations and cadence never overflow when the clock is started or fired.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.events.leads import Urgency
from shared.events.weekdays import WEEKDAYS, Weekday
from shared.validation import TimeZone, errors_with_paths
from sla_monitor.domain.calendars import BusinessCalendar
from sla_monitor.domain.durations import format_duration, parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
URGENCIES: tuple[str, ...] = Urgency.__args__  # type: ignore[attr-defined]
MAX_ESCALATION_LEVELS = 10
MAX_HOLIDAYS = 366


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _parse_span(span: str) -> tuple[time, time]:
    opens, sep, closes = span.partition("-")
    try:
        start, end = time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip())
    except ValueError:
        raise ValueError(f"{span!r} is not a span like '09:00-17:00'") from None
    if not sep or start >= end:
        raise ValueError(f"{span!r} must open before it closes, like '09:00-17:00'")
    return start, end


class BusinessHours(_Strict):
    timezone: TimeZone
    hours: dict[Weekday, str | Annotated[list[str], Field(max_length=12)]]
    holidays: Annotated[list[date], Field(max_length=MAX_HOLIDAYS)] = Field(default_factory=list)

    @field_validator("holidays", mode="before")
    @classmethod
    def _dates_only(cls, holidays: Any) -> Any:
        # YAML reads an unquoted 2026-12-25 as a date, 2026-12-25 10:00 as a datetime and 20261225 as a number
        if isinstance(holidays, list):
            for day in holidays:
                if isinstance(day, datetime) or not isinstance(day, date | str):
                    raise ValueError(f"{str(day)[:40]!r} is not a day; write holidays as dates like 2026-12-25")
        return holidays

    @field_validator("hours")
    @classmethod
    def _spans(cls, hours: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for spans in hours.values():
            for span in [spans] if isinstance(spans, str) else spans:
                _parse_span(span)
        if not hours:
            raise ValueError("business hours need at least one working day")
        return hours

    def calendar(self) -> BusinessCalendar:
        parsed: dict[str, list[tuple[time, time]]] = {
            day: [_parse_span(span) for span in ([spans] if isinstance(spans, str) else spans)]
            for day, spans in self.hours.items()}
        assert set(parsed) <= set(WEEKDAYS)
        return BusinessCalendar(self.timezone, parsed, frozenset(self.holidays))

    def weekly_working_time(self) -> timedelta:
        total = timedelta(0)
        for spans in self.hours.values():
            for opens, closes in (_parse_span(span) for span in ([spans] if isinstance(spans, str) else spans)):
                total += timedelta(hours=closes.hour - opens.hour, minutes=closes.minute - opens.minute,
                                   seconds=closes.second - opens.second)
        return total


class EscalationLevel(_Strict):
    after: Duration  # counted from the breach
    reassign: bool = False


class FollowUp(_Strict):
    touches: int = Field(ge=1, le=50)
    within: Duration
    max_gap: Duration


class Policy(_Strict):
    first_response: Duration
    warn_before: Duration | None = None
    business_hours: BusinessHours | None = None
    clock_starts: Literal["assigned", "received", "captured"] = "assigned"
    escalation: Annotated[list[EscalationLevel], Field(max_length=MAX_ESCALATION_LEVELS)] = Field(
        default_factory=list)
    follow_up: FollowUp | None = None

    @model_validator(mode="after")
    def _reachable_in_business_hours(self) -> Policy:
        if self.business_hours is not None:
            weekly = self.business_hours.weekly_working_time()
            if self.first_response > 52 * weekly:
                raise ValueError(f"first_response needs more than a year of these business hours "
                                 f"({format_duration(weekly)} a week); shorten it or widen the hours")
        return self

    @field_validator("first_response")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("first_response must be longer than zero")
        return value

    @field_validator("escalation")
    @classmethod
    def _ascending(cls, levels: list[EscalationLevel]) -> list[EscalationLevel]:
        if any(b.after <= a.after for a, b in zip(levels, levels[1:], strict=False)):
            raise ValueError("escalation levels must come later one after the other (ascending 'after')")
        return levels


class PolicySet(_Strict):
    policies: dict[Urgency, Policy]

    @field_validator("policies")
    @classmethod
    def _all_urgencies(cls, policies: dict[str, Policy]) -> dict[str, Policy]:
        missing = [u for u in URGENCIES if u not in policies]
        if missing:
            raise ValueError(f"a policy is needed for every urgency; missing: {', '.join(missing)}")
        for name, policy in policies.items():
            if policy.warn_before is not None and policy.warn_before >= policy.first_response:
                raise ValueError(f"{name}.warn_before must be shorter than {name}.first_response")
        return policies

    def for_urgency(self, urgency: str) -> Policy:
        return self.policies[urgency]  # type: ignore[index]


class InvalidPolicies(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


def parse_policies(document: Any) -> PolicySet:
    """Validate a whole policy document; raise ``InvalidPolicies`` listing every problem with its path."""
    if not isinstance(document, dict):
        raise InvalidPolicies([{"path": "document", "message": "the policy document must be a mapping"}])
    try:
        return PolicySet.model_validate(document)
    except ValidationError as exc:
        raise InvalidPolicies(errors_with_paths(exc)) from None
