"""Which lead field each provider's answer fills (``config/sources.yaml``), and turning a submission into lead
fields. Pure: the file is read once at start (``load_mapping``); ``lead_values`` does no I/O."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from intake.sources.submission import SourceAnswer, SourceSubmission
from shared.events import limits
from shared.startup import StartupFailure

#: Lead fields an answer may fill; ``full_name`` is split into first and last name, ``notes`` adds a
#: "Question: answer" line to the notes (what unmapped answers get too), ``ignore`` drops the answer.
Target = Literal["email", "phone", "first_name", "last_name", "full_name", "company", "title", "country", "region",
                 "postal_code", "industry", "employees", "intent", "campaign", "event", "external_id",
                 "utm_source", "utm_medium", "utm_campaign", "notes", "ignore"]
#: Lead fields a provider or form may set to a fixed value when its answers give none.
Settable = Literal["intent", "campaign", "event", "industry", "country", "region", "utm_source", "utm_medium",
                   "utm_campaign"]
Provider = Literal["typeform", "tally", "google_ads", "meta", "linkedin", "zuddl"]

#: The repository's root: a relative ``SOURCES_CONFIG_PATH`` that is not found from the working directory is
#: looked up from here, so the service (and its tests) find ``config/sources.yaml`` wherever they are started.
REPO_ROOT = Path(__file__).resolve().parents[4]
#: Longest question label quoted in the notes.
MAX_LABEL = 200


def field_key(name: str) -> str:
    """How keys are compared: case, spaces and punctuation do not matter (``Email Address`` = ``email_address``,
    ``FULL_NAME`` = ``full_name``)."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _normalized_keys(value: dict[str, Any]) -> dict[str, Any]:
    return {field_key(str(key)): target for key, target in value.items()}


class FieldMap(BaseModel):
    """Answers (by the provider's key, question label or field type) and hidden fields, to lead fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[str, Target] = {}
    hidden: dict[str, Target] = {}
    defaults: dict[Settable, str] = {}

    normalize_keys = field_validator("fields", "hidden")(_normalized_keys)


class ProviderMap(FieldMap):
    #: Per form id (Typeform form id, Tally form id, Google form_id, Meta form id, LinkedIn form URN, Zuddl event
    #: id): entries here win over the provider's.
    forms: dict[str, FieldMap] = {}


class SourceMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Hidden fields (utm parameters) of every provider.
    hidden: dict[str, Target] = {}
    providers: dict[Provider, ProviderMap] = {}

    normalize_keys = field_validator("hidden")(_normalized_keys)

    def _tables(self, provider: str, form_id: str | None) -> tuple[FieldMap, ...]:
        provider_map = self.providers.get(provider)  # type: ignore[call-overload]
        if provider_map is None:
            return ()
        form = provider_map.forms.get(form_id) if form_id is not None else None
        return (form, provider_map) if form is not None else (provider_map,)

    def answer_target(self, provider: str, form_id: str | None, answer: SourceAnswer) -> Target | None:
        """The lead field ``answer`` fills: the form's map before the provider's, and in each the answer's key
        before its question label before its field type."""
        candidates = [field_key(c) for c in (answer.key, answer.label, answer.kind) if c]
        for table in self._tables(provider, form_id):
            for candidate in candidates:
                if candidate in table.fields:
                    return table.fields[candidate]
        return None

    def hidden_target(self, provider: str, form_id: str | None, name: str) -> Target | None:
        key = field_key(name)
        for table in (*(t.hidden for t in self._tables(provider, form_id)), self.hidden):
            if key in table:
                return table[key]
        return None

    def defaults(self, provider: str, form_id: str | None) -> dict[str, str]:
        merged: dict[str, str] = {}
        for table in reversed(self._tables(provider, form_id)):
            merged.update({str(name): value for name, value in table.defaults.items()})
        return merged


def load_mapping(path: str | Path) -> SourceMapping:
    """The mapping in ``path`` (relative: from the working directory, else from the repository's root), or a
    ``StartupFailure`` naming the file and the key that is wrong."""
    found = resolve(path)
    try:
        document = yaml.safe_load(found.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise StartupFailure(f"The sources mapping {found} cannot be read ({exc.strerror}); set SOURCES_CONFIG_PATH "
                             "to the path of config/sources.yaml.") from None
    except yaml.YAMLError as exc:
        raise StartupFailure(f"The sources mapping {found} is not valid YAML: {exc}".replace("\n", " ")) from None
    try:
        return SourceMapping.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5])
        raise StartupFailure(f"The sources mapping {found} is invalid: {problems}.") from None


def resolve(path: str | Path) -> Path:
    given = Path(path)
    if given.is_absolute() or given.exists():
        return given
    return REPO_ROOT / given


def lead_values(submission: SourceSubmission, mapping: SourceMapping) -> dict[str, Any]:
    """The lead fields of ``submission`` (before validation): mapped answers and hidden fields, the provider's
    name as ``source``, its campaign or form name as ``campaign``, and every answer that fills no field (or a field
    an earlier answer already filled) as a "Question: answer" line of ``notes``."""
    provider, form_id = submission.provider, submission.form_id
    values: dict[str, Any] = {}
    notes: list[str] = []

    def put(target: Target | None, label: str, value: str) -> None:
        value = value.replace("\x00", "").strip()
        if not value or target == "ignore":
            return
        if target == "full_name":
            first, _, last = value.partition(" ")
            if "first_name" not in values and "last_name" not in values:
                values["first_name"] = first
                if last.strip():
                    values["last_name"] = last.strip()
                return
            target = None
        if target is None or target == "notes" or target in values:
            notes.append(f"{label[:MAX_LABEL]}: {value}")
        else:
            values[target] = value

    for answer in submission.answers:
        put(mapping.answer_target(provider, form_id, answer), answer.label or answer.key, answer.value)
    for name, value in submission.hidden.items():
        put(mapping.hidden_target(provider, form_id, name), name, value)
    if submission.campaign and "campaign" not in values:
        values["campaign"] = submission.campaign
    for name, value in mapping.defaults(provider, form_id).items():
        values.setdefault(name, value)
    values["source"] = provider
    if notes:
        values["notes"] = bounded_notes(notes)
    return values


def bounded_notes(lines: list[str]) -> str:
    """``lines`` joined, cut to ``limits.MAX_NOTES`` characters (the cut is marked)."""
    text = "\n".join(lines)
    if len(text) <= limits.MAX_NOTES:
        return text
    marker = "\n[…more answers cut]"
    return text[:limits.MAX_NOTES - len(marker)] + marker
