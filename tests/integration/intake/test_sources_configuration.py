"""Lead-source endpoints without their secret answer 404 naming the variable; their bodies get their own limit."""

from __future__ import annotations

import pytest

from tests import source_payloads as docs
from tests.integration.intake.conftest import Intake
from tests.integration.intake.sources_support import sources, stored_nothing, unconfigured

__all__ = ["sources", "unconfigured"]


@pytest.mark.parametrize(("path", "variable"), [
    ("/v1/sources/typeform", "TYPEFORM_SECRET"), ("/v1/sources/tally", "TALLY_SIGNING_SECRET"),
    ("/v1/sources/google-ads", "GOOGLE_ADS_WEBHOOK_KEY"), ("/v1/sources/zuddl", "ZUDDL_WEBHOOK_TOKEN"),
])
async def test_an_unconfigured_source_is_a_404_naming_its_variable(unconfigured: Intake, path: str,
                                                                    variable: str) -> None:
    answer = await unconfigured.http.post(path, json=docs.google_ads())
    assert answer.status_code == 404 and variable in answer.json()["detail"]
    assert await stored_nothing(unconfigured)


async def test_a_source_body_over_its_limit_is_a_413_before_it_is_read(sources: Intake) -> None:
    payload = docs.typeform()
    payload["padding"] = "x" * sources.settings.intake_max_source_bytes
    raw = docs.body(payload)
    answer = await sources.http.post("/v1/sources/typeform", content=raw, headers={
        "Content-Type": "application/json", "Typeform-Signature": docs.typeform_signature(docs.TYPEFORM_SECRET, raw)})
    assert answer.status_code == 413
    # Larger than a single lead's limit, smaller than the sources' one: accepted.
    payload["padding"] = "x" * (sources.settings.intake_max_body_bytes + 1)
    raw = docs.body(payload)
    answer = await sources.http.post("/v1/sources/typeform", content=raw, headers={
        "Content-Type": "application/json", "Typeform-Signature": docs.typeform_signature(docs.TYPEFORM_SECRET, raw)})
    assert answer.status_code == 200, answer.text
