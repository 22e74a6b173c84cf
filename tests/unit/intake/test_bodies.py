"""Reading request bodies: HTML forms drop non-lead fields, CSV columns that are no lead field go to the notes."""

from __future__ import annotations

import pytest

from intake.bodies import BadBody, batch_rows, lead_payload


def test_a_form_post_keeps_lead_fields_and_drops_buttons_and_blanks() -> None:
    payload = lead_payload("application/x-www-form-urlencoded; charset=utf-8",
                           b"email=a%40b.co&company=&submit=Send&source=web_form")
    assert payload == {"email": "a@b.co", "source": "web_form"}


def test_an_unsupported_content_type_is_a_415() -> None:
    with pytest.raises(BadBody) as caught:
        lead_payload("text/plain", b"hello")
    assert caught.value.status_code == 415


def test_a_csv_column_that_is_no_lead_field_is_kept_in_the_notes_by_its_header() -> None:
    rows = batch_rows("text/csv", b"email,favourite_colour,notes\na@b.co,blue,Met at booth\n", max_rows=10)
    assert rows == [{"email": "a@b.co", "notes": "Met at booth\nfavourite_colour: blue"}]


def test_csv_rows_become_dicts_without_empty_cells() -> None:
    rows = batch_rows("text/csv", b"\xef\xbb\xbfemail,phone,source\na@b.co,,badge_scan\n", max_rows=10)
    assert rows == [{"email": "a@b.co", "source": "badge_scan"}]


def test_a_csv_without_a_header_row_is_refused_without_echoing_its_data() -> None:
    with pytest.raises(BadBody, match="header row") as caught:
        batch_rows("text/csv", b"ana@example.com,+1 415 555 0134,web_form\n", max_rows=10)
    assert "ana@example.com" not in str(caught.value) and "555" not in str(caught.value)


def test_the_row_limit_is_applied_while_reading_and_blank_lines_count_too() -> None:
    assert len(batch_rows("text/csv", b"email,source\n" + b"a@b.co,web_form\n" * 3, max_rows=3)) == 3
    for body in (b"email,source\n" + b"a@b.co,web_form\n" * 4, b"email,source\n" + b"\n" * 10_000_000):
        with pytest.raises(BadBody, match="at most 3 rows") as caught:
            batch_rows("text/csv", body, max_rows=3)
        assert caught.value.status_code == 413
