"""How lead fields are cleaned: trimmed, lower-cased, ISO country codes, E.164 phones, errors by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from intake.normalize import LeadSubmission, country_code, normalize_phone


@pytest.mark.parametrize(("given", "expected"), [
    ("US", "US"), ("us", "US"), ("USA", "US"), ("United States", "US"), ("germany", "DE"),
    ("DEU", "DE"), ("United Kingdom", "GB"), ("UK", "GB"), (" France ", "FR"), ("Czech Republic", "CZ"),
])
def test_country_names_and_codes_become_iso_alpha_2(given: str, expected: str) -> None:
    assert country_code(given) == expected


def test_an_unknown_country_is_an_error_naming_the_value() -> None:
    with pytest.raises(ValueError, match="'Narnia' is not an ISO 3166"):
        country_code("Narnia")


def test_phones_become_e164_using_the_lead_country_for_local_numbers() -> None:
    assert normalize_phone("(415) 555-0134", "US") == "+14155550134"
    assert normalize_phone("030 901820", "DE") == "+4930901820"
    assert normalize_phone("+44 20 7946 0958", None) == "+442079460958"


def test_an_unparseable_phone_is_kept_as_given() -> None:
    assert normalize_phone("call reception", "US") == "call reception"


def test_a_submission_is_trimmed_and_lower_cased_where_it_matters() -> None:
    lead = LeadSubmission.model_validate({
        "email": "  Ana.Ruiz@Example.COM ", "first_name": "  Ana  ", "source": "Web Form",
        "intent": "Demo Request", "industry": " FinTech ", "employees": "1200", "country": "united states",
        "region": "ca", "company": "  ", "phone": "415 555 0134",
    }).to_fields()
    assert lead.email == "ana.ruiz@example.com"
    assert lead.first_name == "Ana"
    assert (lead.source, lead.intent, lead.industry) == ("web_form", "demo_request", "fintech")
    assert lead.employees == 1200 and lead.country == "US" and lead.region == "CA"
    assert lead.company is None
    assert lead.phone == "+14155550134"


def _fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}


def test_every_problem_is_reported_by_field() -> None:
    with pytest.raises(ValidationError) as caught:
        LeadSubmission.model_validate({"email": "nope", "country": "Narnia", "employees": "many",
                                       "captured_at": "2026-11-20T10:00:00", "colour": "blue"})
    assert _fields(caught.value) == {"email", "country", "employees", "captured_at", "source", "colour"}


def test_a_lead_needs_an_email_or_a_phone() -> None:
    with pytest.raises(ValidationError) as caught:
        LeadSubmission.model_validate({"source": "badge_scan", "first_name": "Ana"})
    assert _fields(caught.value) == {"phone"}
    assert "email or a phone" in str(caught.value)
    assert LeadSubmission.model_validate({"source": "badge_scan", "phone": "+14155550134"}).email is None


def test_a_captured_at_in_the_future_is_refused_beyond_the_allowed_skew() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    context = {"now": now, "skew": timedelta(seconds=5)}
    lead = {"email": "a@b.co", "source": "badge_scan"}
    for fine in ("2026-11-26T12:00:05Z", "2026-11-26T13:00:04+01:00", "2026-11-26T11:00:00Z"):
        LeadSubmission.model_validate({**lead, "captured_at": fine}, context=context)
    for future in ("2026-11-26T12:00:06Z", "2027-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"):
        with pytest.raises(ValidationError) as caught:
            LeadSubmission.model_validate({**lead, "captured_at": future}, context=context)
        assert [e["loc"] for e in caught.value.errors()] == [("captured_at",)]


def test_notes_keep_their_line_breaks_but_lines_are_trimmed_and_blank_ones_dropped() -> None:
    lead = LeadSubmission.model_validate({"email": "a@example.com", "source": "web_form",
                                          "notes": "  Rating:   Hot \r\n\n Badge ID: B-77  \n"})
    assert lead.notes == "Rating: Hot\nBadge ID: B-77"
