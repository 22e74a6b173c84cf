"""Badge-scanner exports uploaded as a CSV batch: export headers map to lead fields, the rest lands in the notes."""

from __future__ import annotations

from tests.integration.intake.conftest import API_KEY, Intake
from tests.integration.intake.sources_support import received_events, sources

__all__ = ["sources"]

EXPORT = (
    "Full Name,Email Address,Designation,Company Name,Mobile,Country,State,Zip,Date Scanned,Time Zone,Rating,"
    "Lead Owner,Badge ID,source\n"
    'Ana María Ruiz,ana@example.com,CTO,Acme,+1 415 555 0134,USA,CA,94107,"11/20/2026 10:05 AM",America/Los_Angeles,'
    "Hot,Jane Booth,B-77,badge_scan\n"
    "Bo Li,bo@example.com,VP Sales,Initech,,Germany,,,11/20/2026 11:00,,Warm,,B-78,badge_scan\n"
)


async def test_a_badge_export_maps_its_headers_and_refuses_a_scan_time_without_time_zone(sources: Intake) -> None:
    answer = await sources.http.post("/v1/leads/batch", content=EXPORT.encode(),
                                     headers={"Content-Type": "text/csv", "X-API-Key": API_KEY})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [a["row"] for a in body["accepted"]] == [1]
    assert body["rejected"][0]["row"] == 2 and body["rejected"][0]["errors"][0]["field"] == "captured_at"
    assert "offset" in body["rejected"][0]["errors"][0]["message"]
    [event] = await received_events(sources)
    assert (event["first_name"], event["last_name"], event["email"], event["title"], event["company"]) == (
        "Ana", "María Ruiz", "ana@example.com", "CTO", "Acme")
    assert (event["phone"], event["country"], event["region"], event["postal_code"]) == (
        "+14155550134", "US", "CA", "94107")
    assert event["captured_at"].startswith("2026-11-20T10:05:00-08:00") or \
        event["captured_at"].startswith("2026-11-20T18:05:00")
    assert event["notes"] == "Rating: Hot\nLead Owner: Jane Booth\nBadge ID: B-77"
