"""Lead text stays text in each output format: no Slack mention, link or formatting, no spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest

from sla_monitor.escaping import csv_cell, csv_document, slack_text

ZW = "\u200b"


def test_slack_control_characters_become_entities_so_no_mention_or_link_survives() -> None:
    assert slack_text("<!channel>") == "&lt;!channel&gt;"
    assert slack_text("<https://evil|Open lead in CRM>") == "&lt;https://evil|Open lead in CRM&gt;"
    assert slack_text("<@U123> & co") == "&lt;@U123&gt; &amp; co"
    assert slack_text("&lt;") == "&amp;lt;"  # an entity typed by the lead stays literal too


@pytest.mark.parametrize(("text", "expected"), [
    ("*FREE*", f"{ZW}*{ZW}FREE{ZW}*{ZW}"),
    ("_urgent_", f"{ZW}_{ZW}urgent{ZW}_{ZW}"),
    ("~gone~", f"{ZW}~{ZW}gone{ZW}~{ZW}"),
    ("`rm -rf`", f"{ZW}`{ZW}rm -rf{ZW}`{ZW}"),
    ("web_form", "web_form"),  # inside a word a marker formats nothing, and stays searchable
    ("x_y_z", "x_y_z"),
])
def test_slack_formatting_markers_are_neutralised_where_they_could_format(text: str, expected: str) -> None:
    assert slack_text(text) == expected


def test_slack_text_stays_on_one_line_so_it_cannot_start_a_quote_or_fake_a_line() -> None:
    assert slack_text("Ana\n> *SLA met*\r\n") == f"Ana &gt; {ZW}*{ZW}SLA met{ZW}*{ZW}"
    assert slack_text(3) == "3"


@pytest.mark.parametrize("value", ['=HYPERLINK("https://evil","click")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_a_spreadsheet_would_run_get_a_leading_quote(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["q4-demo", "Fintastic", "", 12, -3.5, None])
def test_other_csv_cells_are_unchanged(value: object) -> None:
    assert csv_cell(value) == value


def test_a_csv_document_neutralises_and_quotes_every_cell() -> None:
    text = csv_document(["group", "leads"], [{"group": '=HYPERLINK("https://evil","a,b")', "leads": 2},
                                             {"group": "plain", "leads": -1}])
    assert list(csv.reader(io.StringIO(text))) == [
        ["group", "leads"], ['\'=HYPERLINK("https://evil","a,b")', "2"], ["plain", "-1"]]
