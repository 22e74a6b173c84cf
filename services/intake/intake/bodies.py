"""Turning request bodies (JSON, HTML form posts, CSV) into plain field dictionaries."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import parse_qsl

from intake.normalize import LeadSubmission
from intake.sources.csv_aliases import column_target, row_fields
from shared import safe_json

LEAD_FIELDS = frozenset(LeadSubmission.model_fields)


class BadBody(Exception):
    """The body cannot be read as the declared content type."""

    def __init__(self, message: str, status_code: int = 422, *, field: str = "body") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.field = field


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def parse_json(body: bytes, *, check: bool = True) -> Any:
    """The JSON value of ``body``; too deep, too long numbers, NUL characters and the like are a 422 naming
    the problem (see ``shared.safe_json``). With ``check=False`` the caller runs ``_checked`` itself."""
    try:
        value = safe_json.parse(body)
    except safe_json.UnsafeJson as exc:
        raise BadBody(str(exc), field=exc.field) from None
    return _checked(value) if check else value


def _checked(value: Any) -> Any:
    try:
        safe_json.check_tree(value)
    except safe_json.UnsafeJson as exc:
        raise BadBody(str(exc), field=exc.field) from None
    return value


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` post; fields that are not lead fields (buttons, honeypots) and
    empty values are dropped, as a browser sends both."""
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=False, strict_parsing=False)
    except UnicodeDecodeError:
        raise BadBody("The form body is not UTF-8.") from None
    return {name: value for name, value in pairs if name in LEAD_FIELDS}


def lead_payload(content_type: str | None, body: bytes) -> dict[str, Any]:
    kind = media_type(content_type)
    if kind == "application/json":
        payload = parse_json(body)
        if not isinstance(payload, dict):
            raise BadBody("The JSON body must be an object with the lead's fields.")
        return payload
    if kind == "application/x-www-form-urlencoded":
        return parse_form(body)
    raise BadBody("Send the lead as application/json or application/x-www-form-urlencoded.", status_code=415)


def batch_rows(content_type: str | None, body: bytes, *, max_rows: int) -> list[Any]:
    """The rows of a batch upload: ``{"leads": [...]}`` as JSON, or CSV with a header row of field names or the
    headers badge scanners export (see ``intake.sources.csv_aliases``).

    More than ``max_rows`` rows is a 413, found while reading: a CSV is read row by row and refused at the first
    row over the limit, so a body of millions of (blank) rows costs no more than ``max_rows`` of them.
    """
    kind = media_type(content_type)
    if kind == "application/json":
        payload = parse_json(body, check=False)
        if not isinstance(payload, dict) or not isinstance(payload.get("leads"), list):
            raise BadBody('The JSON body must look like {"leads": [...]}.')
        if len(payload["leads"]) > max_rows:
            raise too_many_rows(max_rows)
        _checked(payload)
        return list(payload["leads"])
    if kind in {"text/csv", "application/csv"}:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadBody("The CSV body is not UTF-8.") from None
        return _csv_rows(text, max_rows=max_rows)
    raise BadBody("Send the batch as application/json or text/csv.", status_code=415)


def _looks_like_data(name: str) -> bool:
    return "@" in name or sum(c.isdigit() for c in name) >= 5 or len(name) > 64


def too_many_rows(max_rows: int) -> BadBody:
    return BadBody(f"A batch holds at most {max_rows} rows (INTAKE_MAX_BATCH_ROWS); this one has more. Split it.",
                   status_code=413)


def _csv_rows(text: str, *, max_rows: int) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise BadBody("The CSV body needs a header row with the field names.")
        names = [name.strip() for name in header]
        targets = [column_target(name, LEAD_FIELDS) for name in names]
        unknown = [name for name, target in zip(names, targets, strict=True) if target is None]
        if any(_looks_like_data(name) for name in unknown):
            # Never echo it: a first row of data holds emails and phone numbers.
            raise BadBody("The CSV's first row must be a header row of lead field names (email, phone, source, …); "
                          "it looks like a row of data.")
        rows: list[dict[str, str]] = []
        blank = 0
        for record in reader:
            if not record:
                # Blank lines are no rows, but they count against the limit too: a body of nothing but line
                # breaks must not be read to its end.
                blank += 1
                if blank > max_rows:
                    raise too_many_rows(max_rows)
                continue
            if len(rows) == max_rows:
                raise too_many_rows(max_rows)
            # Cells beyond the header are ignored; missing or empty cells are left out. Export headers (Email
            # Address, Job Title, Scan time, …) are read through their aliases; other columns go to the notes.
            rows.append(row_fields([(name, target, value) for name, target, value
                                    in zip(names, targets, record, strict=False) if value]))
        return rows
    except csv.Error as exc:
        raise BadBody(f"The CSV body cannot be read (line {reader.line_num}): {exc}.") from None
