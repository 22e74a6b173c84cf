"""Escaping lead text for each format it is written into, so text a lead typed stays text.

Lead fields (name, company, source, campaign) come from web forms anyone can fill in. Put raw into a Slack
message, ``<!channel>`` pings a whole channel and ``<https://evil|Open lead in CRM>`` becomes a link; put raw
into a CSV cell, ``=HYPERLINK(...)`` becomes a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: Slack's three control characters, escaped as its docs require (``&`` first, as the others add one).
_SLACK_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
#: mrkdwn has no escape for its bold, italic, strike and code markers; a zero-width space on each side keeps
#: a marker from opening or closing formatting while the text reads the same. Slack ignores ``*_~`` inside a
#: word, so ``web_form`` stays as it is (and searchable); a backtick is neutralised everywhere.
_SLACK_MARKER = re.compile(r"`|(?<![^\W_])[*_~]|[*_~](?![^\W_])")
_ZERO_WIDTH_SPACE = "\u200b"

#: OWASP CSV injection: a cell starting with one of these is a formula to Excel, LibreOffice or Sheets.
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def slack_text(value: object) -> str:
    """``value`` as literal text inside a Slack mrkdwn message: on one line, no mention, link or formatting."""
    text = " ".join(str(value).split())  # a line break could start a quote ("> ...") or fake another line
    text = text.translate(_SLACK_ENTITIES)
    return _SLACK_MARKER.sub(lambda m: f"{_ZERO_WIDTH_SPACE}{m.group()}{_ZERO_WIDTH_SPACE}", text)


def slack_link(url: str, label: str) -> str:
    """A Slack link ``<url|label>``: the URL's ``&``, ``<``, ``>`` escaped and a ``|`` percent-encoded (it would
    end the URL), the label escaped as text."""
    return f"<{url.translate(_SLACK_ENTITIES).replace('|', '%7C')}|{slack_text(label)}>"


def csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading ``'``; everything else is unchanged."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_STARTS):
        return "'" + value
    return value


def csv_document(columns: list[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A CSV document (header first) with every cell neutralised and quoted by the csv module."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
    return out.getvalue()
