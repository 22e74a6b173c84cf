"""Badge-scanner and list exports: their column headers (``Email Address``, ``Job Title``, ``Date Scanned``, …) as
lead fields, and a row of such a CSV as the fields of one lead. Pure.

Headers compare without case, spaces or punctuation. A column no alias knows is kept in the lead's notes as
"Header: value", as are ``Rating`` and ``Lead Owner`` (ratings differ per scanner, 1-5, A-C, hot/cold, and are not
an intent; the owner is a person at the booth, not a rep id). Scan times in the common export formats become
``captured_at``; slash dates are month/day/year (US exporters), dotted dates day.month.year. A scan time without
a UTC offset is read in the row's ``Time Zone`` column (an IANA name such as Europe/Berlin, or an offset such as
+01:00); without one the row is refused with a message saying so, because guessing UTC would start the lead's
response clock hours early or late.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intake.sources.mapping import bounded_notes, field_key

#: Special targets besides lead fields.
FULL_NAME, SCAN_TIME, TIME_ZONE, NOTES = "full_name", "scan_time", "time_zone", "notes"

_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("Email Address", "E-mail", "E-mail Address", "Work Email", "Business Email", "Email ID", "Mail"),
    "phone": ("Phone Number", "Mobile", "Mobile Number", "Mobile Phone", "Cell", "Cell Phone", "Work Phone",
              "Telephone", "Phone No", "Contact Number"),
    "first_name": ("First Name", "Firstname", "Given Name", "Forename"),
    "last_name": ("Last Name", "Lastname", "Surname", "Family Name"),
    FULL_NAME: ("Full Name", "Name", "Attendee Name", "Contact Name"),
    "company": ("Company Name", "Organization", "Organisation", "Organization Name", "Account", "Account Name",
                "Employer"),
    "title": ("Job Title", "Designation", "Position", "Role", "Job Role"),
    "country": ("Country Name", "Country Code", "Country/Region"),
    "region": ("State", "Province", "State/Province", "Region", "County"),
    "postal_code": ("Zip", "Zip Code", "Zipcode", "Postal Code", "Postcode", "Post Code", "PLZ"),
    "industry": ("Industry", "Sector"),
    "employees": ("Employees", "Number of Employees", "Company Size", "Employee Count"),
    "event": ("Event", "Event Name", "Show", "Show Name", "Trade Show"),
    "campaign": ("Campaign", "Campaign Name"),
    SCAN_TIME: ("Scan time", "Scan Time", "Scanned At", "Date Scanned", "Scan Date", "Scanned On", "Captured At",
                "Capture Date", "Date Captured", "Created", "Created At", "Date Created", "Timestamp"),
    TIME_ZONE: ("Time Zone", "Timezone", "TZ"),
    NOTES: ("Notes", "Note", "Comments", "Comment", "Remarks"),
}

#: ``field_key(header)`` -> lead field (or one of the special targets above).
ALIASES: dict[str, str] = {field_key(alias): target for target, names in _ALIASES.items() for alias in names}

#: Export date formats tried after ISO 8601 (which ``datetime.fromisoformat`` reads, with or without an offset).
DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
                "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
                "%b %d, %Y %I:%M %p", "%b %d, %Y %H:%M", "%B %d, %Y %I:%M %p", "%d %b %Y %H:%M", "%d %B %Y %H:%M")


def column_target(header: str, lead_fields: frozenset[str]) -> str | None:
    """The lead field (or special target) of a CSV column; ``None`` for a column kept in the notes."""
    if header in lead_fields:
        return header
    key = field_key(header)
    return ALIASES.get(key) or (key if key in lead_fields else None)


def row_fields(cells: list[tuple[str, str | None, str]]) -> dict[str, str]:
    """A lead's fields from one row's ``(header, target, value)`` cells (empty values already left out)."""
    values: dict[str, str] = {}
    notes: list[str] = []
    scan_time = zone = None
    for header, target, value in cells:
        if target == NOTES:
            if field_key(header) in {"notes", "note"}:
                notes.insert(0, value)
            else:
                notes.append(f"{header}: {value}")
        elif target == FULL_NAME:
            first, _, last = value.strip().partition(" ")
            if "first_name" in values or "last_name" in values:
                notes.append(f"{header}: {value}")
            else:
                values["first_name"] = first
                if last.strip():
                    values["last_name"] = last.strip()
        elif target == SCAN_TIME:
            scan_time = scan_time or value
        elif target == TIME_ZONE:
            zone = zone or value
        elif target is None or target in values:
            notes.append(f"{header}: {value}")
        else:
            values[target] = value
    if scan_time is not None and "captured_at" not in values:
        values["captured_at"] = export_time(scan_time, zone)
    if notes:
        values["notes"] = bounded_notes(notes)
    return values


def export_time(value: str, zone: str | None) -> str:
    """An exporter's time as ISO 8601 with an offset when it can be read; otherwise the text as given (so that
    validating ``captured_at`` refuses the row with its own message: unreadable, or no UTC offset)."""
    parsed = _parse(value.strip())
    if parsed is None:
        return value
    if parsed.tzinfo is None:
        where = _zone(zone) if zone else None
        if where is None:
            return parsed.isoformat()  # no offset: refused by captured_at's own rule, which says how to fix it
        parsed = parsed.replace(tzinfo=where)
    return parsed.isoformat()


def _parse(value: str) -> datetime | None:
    with suppress(ValueError):  # not ISO 8601: the spreadsheet formats below
        return datetime.fromisoformat(value)
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    return None


def _zone(name: str) -> tzinfo | None:
    name = name.strip()
    if name.upper() in {"UTC", "GMT", "Z"}:
        return UTC
    if name[:1] in "+-" and len(name) in (3, 5, 6):
        digits = name[1:].replace(":", "")
        if digits.isdigit():
            hours, minutes = int(digits[:2]), int(digits[2:] or 0)
            if hours <= 14 and minutes < 60:
                sign = -1 if name[0] == "-" else 1
                return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
