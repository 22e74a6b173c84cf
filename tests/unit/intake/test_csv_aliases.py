"""Badge-scanner exports: their headers read through the alias table, scan times in the exporters' formats."""

from __future__ import annotations

import pytest

from intake.bodies import batch_rows


def rows(csv: str) -> list[dict[str, str]]:
    return batch_rows("text/csv", csv.encode(), max_rows=10)


def test_export_headers_map_to_lead_fields_whatever_their_case_and_spacing() -> None:
    [row] = rows("Work Email, JOB TITLE ,Company Name,Full Name,Mobile,State,Zip,Country,source\n"
                 "ana@example.com,CTO,Acme,Ana María Ruiz,+1 415 555 0134,CA,94107,United States,badge_scan\n")
    assert row == {"email": "ana@example.com", "title": "CTO", "company": "Acme", "first_name": "Ana",
                   "last_name": "María Ruiz", "phone": "+1 415 555 0134", "region": "CA", "postal_code": "94107",
                   "country": "United States", "source": "badge_scan"}


def test_rating_lead_owner_and_unknown_columns_are_kept_in_the_notes() -> None:
    [row] = rows("E-mail,Designation,Organization,Rating,Lead Owner,Badge ID,Notes\n"
                 "bo@example.com,VP Sales,Initech,Hot,Jane Booth,B-77,Wants a demo\n")
    assert (row["email"], row["title"], row["company"]) == ("bo@example.com", "VP Sales", "Initech")
    assert row["notes"] == "Wants a demo\nRating: Hot\nLead Owner: Jane Booth\nBadge ID: B-77"


@pytest.mark.parametrize(("scanned", "zone", "captured_at"), [
    ("2026-11-20T10:05:00+01:00", "", "2026-11-20T10:05:00+01:00"),
    ("2026-11-20 10:05:00Z", "", "2026-11-20T10:05:00+00:00"),
    ("11/20/2026 10:05 AM", "Europe/Berlin", "2026-11-20T10:05:00+01:00"),
    ("11/20/2026 14:05", "-05:00", "2026-11-20T14:05:00-05:00"),
    ("20.11.2026 10:05", "UTC", "2026-11-20T10:05:00+00:00"),
    ("Nov 20, 2026 10:05 AM", "America/New_York", "2026-11-20T10:05:00-05:00"),
])
def test_scan_times_in_export_formats_become_captured_at(scanned: str, zone: str, captured_at: str) -> None:
    [row] = rows(f'Email Address,Scan time,Time Zone\nana@example.com,"{scanned}",{zone}\n')
    assert row["captured_at"] == captured_at


def test_a_scan_time_without_offset_or_time_zone_is_left_for_captured_at_to_refuse() -> None:
    [row] = rows("Email Address,Date Scanned\nana@example.com,11/20/2026 10:05 AM\n")
    assert row["captured_at"] == "2026-11-20T10:05:00"  # naive: LeadSubmission refuses it, asking for an offset
