"""What every lead-source adapter hands over: the provider's submission, already verified and parsed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SourceAnswer:
    key: str                  # provider's field id/ref/column_id/name
    value: str
    label: str | None = None  # the question text, used in notes
    kind: str | None = None   # provider's field type (email, phone_number, ...)


@dataclass(frozen=True)
class SourceSubmission:
    provider: str             # "typeform" | "tally" | "google_ads" | "meta" | "linkedin" | "zuddl"
    provider_lead_id: str     # dedupe key: the provider's own lead/response id
    form_id: str | None
    submitted_at: datetime | None  # provider's submit time -> captured_at
    answers: tuple[SourceAnswer, ...]
    hidden: Mapping[str, str] = field(default_factory=dict)  # hidden fields / utm
    campaign: str | None = None
    is_test: bool = False


class SourceLeadInvalid(Exception):
    """The provider's payload cannot become a lead; ``errors`` name each problem by field (a 422)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        fields = ", ".join(sorted({e["field"] for e in errors}))
        super().__init__(f"The lead has {len(errors)} problem(s) in: {fields}.")
        self.errors = errors


def invalid(field_name: str, message: str) -> SourceLeadInvalid:
    return SourceLeadInvalid([{"field": field_name, "message": message}])
