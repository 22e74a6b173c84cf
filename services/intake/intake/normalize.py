"""What a lead submission may contain, and how each field is cleaned (trimmed, lower-cased, ISO, E.164)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from intake.crm.salesforce import id18
from shared.events import LeadFields, limits
from shared.events.crm import ExternalIds


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = " ".join(value.split())  # trim and fold inner runs of white space
        return value or None
    return value


def _lines(value: Any) -> Any:
    """Multi-line text (notes): each line trimmed and its inner runs of white space folded, blank lines dropped,
    the line breaks kept."""
    if isinstance(value, str):
        lines = (" ".join(line.split()) for line in value.splitlines())
        return "\n".join(line for line in lines if line) or None
    return value


def _slug(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        return re.sub(r"[\s\-]+", "_", value.lower())
    return value


SLUG_PATTERN = r"^[a-z0-9_.]+$"
#: How far in the future a ``captured_at`` may be (the scanner's clock runs a little ahead) before it is refused.
CAPTURED_AT_SKEW = timedelta(seconds=5)


# Optional fields: blank input becomes None, and constraints apply to real values only.
Blank = BeforeValidator(_blank_to_none)
Text = Annotated[Annotated[str, StringConstraints(max_length=limits.MAX_TEXT)] | None, Blank]
Slug = Annotated[Annotated[str, StringConstraints(max_length=limits.MAX_SLUG, pattern=SLUG_PATTERN)] | None,
                 BeforeValidator(_slug)]

_COUNTRY_ALIASES = {"uk": "GB", "usa": "US", "u.s.": "US", "u.s.a.": "US", "america": "US",
                    "great britain": "GB", "england": "GB", "russia": "RU", "south korea": "KR",
                    "korea": "KR", "vietnam": "VN", "iran": "IR", "syria": "SY", "taiwan": "TW",
                    "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "czechia": "CZ",
                    "czech republic": "CZ", "holland": "NL", "the netherlands": "NL", "uae": "AE"}


def country_code(value: str) -> str:
    """ISO 3166 alpha-2 for an alpha-2/alpha-3 code or an English country name; ValueError otherwise."""
    cleaned = value.strip()
    alias = _COUNTRY_ALIASES.get(cleaned.lower())
    if alias:
        return alias
    if len(cleaned) == 2 and pycountry.countries.get(alpha_2=cleaned.upper()):
        return cleaned.upper()
    if len(cleaned) == 3 and (found := pycountry.countries.get(alpha_3=cleaned.upper())):
        return str(found.alpha_2)
    try:
        return str(pycountry.countries.lookup(cleaned).alpha_2)
    except LookupError:
        raise ValueError(f"'{cleaned}' is not an ISO 3166 country code or an English country name.") from None


def normalize_phone(raw: str, country: str | None) -> str:
    """E.164 when the number parses and is possible (using the lead's country for local numbers), else as given."""
    try:
        parsed = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return raw
    if not phonenumbers.is_possible_number(parsed):
        return raw
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class LeadSubmission(BaseModel):
    """A lead as posted by a form, a badge scanner or a list upload."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Annotated[Annotated[str, StringConstraints(max_length=limits.MAX_EMAIL)] | None, Blank] = None
    phone: Annotated[Annotated[str, StringConstraints(max_length=limits.MAX_PHONE)] | None, Blank,
                     Field(default=None, validate_default=True)]
    first_name: Text = None
    last_name: Text = None
    company: Text = None
    title: Text = None
    country: Text = None
    region: Text = None
    postal_code: Annotated[Annotated[str, StringConstraints(max_length=limits.MAX_POSTAL_CODE)] | None, Blank] = None
    industry: Slug = None
    employees: Annotated[Annotated[int, Field(ge=0, le=10_000_000)] | None, Blank] = None
    source: Annotated[str, BeforeValidator(_slug), StringConstraints(max_length=limits.MAX_SLUG, pattern=SLUG_PATTERN)]
    intent: Slug = None
    campaign: Text = None
    event: Text = None
    captured_at: Annotated[datetime | None, Blank] = None
    notes: Annotated[Annotated[str, StringConstraints(max_length=limits.MAX_NOTES)] | None,
                     BeforeValidator(_lines)] = None
    external_id: Text = None
    utm_source: Text = None
    utm_medium: Text = None
    utm_campaign: Text = None
    #: CRM name -> that CRM's id for this person (JSON only), e.g. ``{"hubspot": "901"}``.
    external_ids: Annotated[ExternalIds, BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=dict)

    @field_validator("external_ids")
    @classmethod
    def _salesforce_ids_in_api_form(cls, value: dict[str, str]) -> dict[str, str]:
        """A Salesforce id copied from the UI (15 characters) becomes the 18-character form Salesforce sends."""
        if "salesforce" in value:
            value = {**value, "salesforce": id18(value["salesforce"])}
        return value

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            # The reason only, never the address itself: error answers and logs carry no emails.
            raise ValueError(f"is not a valid email address: {exc}") from None

    @field_validator("phone")
    @classmethod
    def _email_or_phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and "email" in info.data and info.data["email"] is None:
            raise ValueError("A lead needs an email or a phone number; both are empty.")
        return value

    @field_validator("country")
    @classmethod
    def _iso_country(cls, value: str | None) -> str | None:
        return None if value is None else country_code(value)

    @field_validator("region")
    @classmethod
    def _upper_region(cls, value: str | None) -> str | None:
        # Regions are mostly codes (CA, WA, BY); keep names readable but compare codes case-insensitively.
        return value.upper() if value is not None and len(value) <= 3 else value

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters (\\u0000).")
        return value

    @field_validator("captured_at")
    @classmethod
    def _aware_and_past(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        """With ``context={"now": ..., "skew": ...}`` a capture later than now (plus the allowed clock skew) is
        refused: a badge cannot be scanned in the future."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Give captured_at with a UTC offset, e.g. 2026-11-25T09:30:00+01:00.")
        try:
            in_utc = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("captured_at is out of range.") from None
        context = info.context or {}
        now: datetime | None = context.get("now")
        if now is not None and in_utc > now + context.get("skew", CAPTURED_AT_SKEW):
            raise ValueError(f"captured_at {in_utc.isoformat()} is in the future (the server's time is "
                             f"{now.isoformat()}); send when the lead was really captured.")
        return value

    @model_validator(mode="after")
    def _phone_in_e164(self) -> LeadSubmission:
        if self.phone is not None:
            self.phone = normalize_phone(self.phone, self.country)
        return self

    def to_fields(self) -> LeadFields:
        return LeadFields.model_validate(self.model_dump())
