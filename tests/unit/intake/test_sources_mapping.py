"""config/sources.yaml: answers map by key, label or type (a form's map first), the rest lands in the notes, and a
bad file stops the start naming the key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from intake.sources.accept import SourceLeadInvalid, source_lead
from intake.sources.mapping import REPO_ROOT, SourceMapping, lead_values, load_mapping
from intake.sources.submission import SourceAnswer, SourceSubmission
from shared.events import limits
from shared.startup import StartupFailure

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)


def submission(*answers: SourceAnswer, provider: str = "typeform", form_id: str | None = "form1",
               hidden: dict[str, str] | None = None, submitted_at: datetime | None = None) -> SourceSubmission:
    return SourceSubmission(provider=provider, provider_lead_id="r1", form_id=form_id, submitted_at=submitted_at,
                            answers=answers, hidden=hidden or {}, campaign="Spring form")


@pytest.fixture(scope="module")
def repo_mapping() -> SourceMapping:
    return load_mapping(REPO_ROOT / "config" / "sources.yaml")


def test_the_repository_mapping_loads_from_any_working_directory(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert "google_ads" in load_mapping("config/sources.yaml").providers


def test_well_known_fields_map_by_type_key_and_label(repo_mapping: SourceMapping) -> None:
    values = lead_values(submission(
        SourceAnswer("ref_1", "ana@example.com", label="Your email", kind="email"),
        SourceAnswer("company_name", "Acme", label="Where do you work?"),
        SourceAnswer("ref_2", "Ana Ruiz", label="Your name", kind="short_text"),
    ), repo_mapping)
    assert values["email"] == "ana@example.com" and values["company"] == "Acme"
    assert values["source"] == "typeform" and values["campaign"] == "Spring form"
    assert values["notes"] == "Your name: Ana Ruiz"


def test_a_forms_own_map_wins_and_full_name_is_split() -> None:
    mapping = SourceMapping.model_validate({"providers": {"tally": {
        "fields": {"Name": "notes"},
        "forms": {"f9": {"fields": {"Name": "full_name"}, "defaults": {"intent": "demo_request"}}}}}})
    answer = SourceAnswer("question_x", "Ana María Ruiz", label="Name")
    in_form = lead_values(submission(answer, provider="tally", form_id="f9"), mapping)
    elsewhere = lead_values(submission(answer, provider="tally", form_id="other"), mapping)
    assert (in_form["first_name"], in_form["last_name"], in_form["intent"]) == ("Ana", "María Ruiz", "demo_request")
    assert elsewhere["notes"] == "Name: Ana María Ruiz" and "intent" not in elsewhere


def test_hidden_fields_fill_utm_and_campaign_and_unknown_ones_go_to_the_notes(repo_mapping: SourceMapping) -> None:
    values = lead_values(submission(SourceAnswer("e", "a@example.com", kind="email"), hidden={
        "utm_source": "newsletter", "UTM Medium": "email", "campaign": "black-friday", "user_id": "42"}), repo_mapping)
    assert (values["utm_source"], values["utm_medium"], values["campaign"]) == ("newsletter", "email", "black-friday")
    assert values["notes"] == "user_id: 42"


def test_a_second_answer_for_a_filled_field_is_kept_in_the_notes(repo_mapping: SourceMapping) -> None:
    values = lead_values(submission(SourceAnswer("a", "one@example.com", label="Work email", kind="email"),
                                    SourceAnswer("b", "two@example.com", label="Private email", kind="email")),
                         repo_mapping)
    assert values["email"] == "one@example.com" and values["notes"] == "Private email: two@example.com"


def test_notes_are_bounded(repo_mapping: SourceMapping) -> None:
    answers = [SourceAnswer(f"q{i}", "x" * 400, label=f"Question {i}") for i in range(40)]
    values = lead_values(submission(SourceAnswer("e", "a@example.com", kind="email"), *answers), repo_mapping)
    assert len(values["notes"]) == limits.MAX_NOTES and values["notes"].endswith("cut]")


def test_a_submit_time_ahead_of_our_clock_is_clamped_to_now(repo_mapping: SourceMapping) -> None:
    email = SourceAnswer("e", "a@example.com", kind="email")
    ahead = source_lead(submission(email, submitted_at=datetime(2026, 11, 27, 4, 3, tzinfo=UTC)),
                        mapping=repo_mapping, now=NOW)
    past = source_lead(submission(email, submitted_at=datetime(2026, 11, 27, 3, 0, tzinfo=UTC)),
                       mapping=repo_mapping, now=NOW)
    assert ahead.captured_at == NOW
    assert past.captured_at == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def test_an_unreadable_optional_field_moves_to_the_notes_but_no_contact_is_a_422(repo_mapping: SourceMapping) -> None:
    lead = source_lead(submission(SourceAnswer("e", "a@example.com", kind="email"),
                                  SourceAnswer("country", "Atlantis")), mapping=repo_mapping, now=NOW)
    assert lead.country is None and lead.notes == "country: Atlantis"
    with pytest.raises(SourceLeadInvalid) as caught:
        source_lead(submission(SourceAnswer("company", "Acme")), mapping=repo_mapping, now=NOW)
    assert {e["field"] for e in caught.value.errors} == {"phone"}
    with pytest.raises(SourceLeadInvalid) as caught:
        source_lead(submission(SourceAnswer("e", "not-an-email", kind="email")), mapping=repo_mapping, now=NOW)
    assert caught.value.errors[0]["field"] == "email" and "not-an-email" not in str(caught.value.errors)


@pytest.mark.parametrize(("document", "named"), [
    ("providers:\n  typeform:\n    fields:\n      email: e_mail\n", "providers.typeform.fields.email"),
    ("providers:\n  myspace:\n    fields: {}\n", "providers.myspace"),
    ("providers:\n  tally:\n    defaults:\n      email: a@b.co\n", "providers.tally.defaults.email"),
    ("providers: [\n", "not valid YAML"),
])
def test_a_bad_mapping_file_stops_the_start_naming_the_key(tmp_path: Path, document: str, named: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(document)
    with pytest.raises(StartupFailure, match=named.replace(".", r"\.")):
        load_mapping(path)


def test_a_missing_mapping_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(StartupFailure, match="SOURCES_CONFIG_PATH"):
        load_mapping(tmp_path / "nope.yaml")
