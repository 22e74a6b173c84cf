"""Reading request bodies: HTML forms drop non-lead fields, CSV headers must be lead fields."""

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


def test_a_csv_with_an_unknown_column_is_refused_by_name() -> None:
    with pytest.raises(BadBody, match="favourite_colour"):
        batch_rows("text/csv", b"email,favourite_colour\na@b.co,blue\n", max_rows=10)


def test_csv_rows_become_dicts_without_empty_cells() -> None:
    rows = batch_rows("text/csv", b"\xef\xbb\xbfemail,phone,source\na@b.co,,badge_scan\n", max_rows=10)
    assert rows == [{"email": "a@b.co", "source": "badge_scan"}]
