"""Turning request bodies (JSON, HTML form posts, CSV) into plain field dictionaries."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import parse_qsl

from intake.normalize import LeadSubmission

LEAD_FIELDS = frozenset(LeadSubmission.model_fields)


class BadBody(Exception):
    """The body cannot be read as the declared content type."""

    def __init__(self, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = status_code


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadBody(f"The body is not valid JSON: {exc}.") from None


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


def batch_rows(content_type: str | None, body: bytes) -> list[Any]:
    """The rows of a batch upload: ``{"leads": [...]}`` as JSON, or CSV with a header row of field names."""
    kind = media_type(content_type)
    if kind == "application/json":
        payload = parse_json(body)
        if not isinstance(payload, dict) or not isinstance(payload.get("leads"), list):
            raise BadBody('The JSON body must look like {"leads": [...]}.')
        return list(payload["leads"])
    if kind in {"text/csv", "application/csv"}:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadBody("The CSV body is not UTF-8.") from None
        return _csv_rows(text)
    raise BadBody("Send the batch as application/json or text/csv.", status_code=415)


def _csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if not reader.fieldnames:
            raise BadBody("The CSV body needs a header row with the field names.")
        unknown = [name for name in reader.fieldnames if name.strip() not in LEAD_FIELDS]
        if unknown:
            raise BadBody(f"The CSV header has columns that are not lead fields: {', '.join(unknown)}.")
        # Cells beyond the header (key None) are ignored; missing or empty cells are left out.
        return [{k.strip(): v for k, v in row.items() if k is not None and isinstance(v, str) and v}
                for row in reader]
    except csv.Error as exc:
        raise BadBody(f"The CSV body cannot be read (line {reader.line_num}): {exc}.") from None
