"""CRM webhook signature checks: HMAC over "<timestamp>.<body>", and a five-minute freshness window."""

from __future__ import annotations

import pytest

from intake.signatures import SignatureRejected, sign, verify

BODY = b'{"activity_id":"a1"}'
NOW = 1_800_000_000


def test_a_correct_signature_within_the_window_passes() -> None:
    verify("s3cret", timestamp=str(NOW), signature=sign("s3cret", NOW, BODY), body=BODY, now=NOW + 299,
           tolerance_seconds=300)


@pytest.mark.parametrize(("timestamp", "signature", "body", "why"), [
    (str(NOW), sign("other", NOW, BODY), BODY, "does not match"),
    (str(NOW), sign("s3cret", NOW, BODY), BODY + b" ", "does not match"),
    (str(NOW - 301), sign("s3cret", NOW - 301, BODY), BODY, "more than 300 seconds"),
    (str(NOW + 301), sign("s3cret", NOW + 301, BODY), BODY, "more than 300 seconds"),
    ("yesterday", sign("s3cret", "yesterday", BODY), BODY, "unix seconds"),
    (None, sign("s3cret", NOW, BODY), BODY, "required"),
])
def test_a_wrong_body_key_or_time_is_rejected(timestamp: str | None, signature: str, body: bytes, why: str) -> None:
    with pytest.raises(SignatureRejected, match=why):
        verify("s3cret", timestamp=timestamp, signature=signature, body=body, now=NOW, tolerance_seconds=300)


def test_during_a_rotation_the_current_and_the_previous_secret_both_verify() -> None:
    for secret in ("new-secret", "old-secret"):
        verify(("new-secret", "old-secret"), timestamp=str(NOW), signature=sign(secret, NOW, BODY), body=BODY,
               now=NOW, tolerance_seconds=300)
    with pytest.raises(SignatureRejected, match="does not match"):
        verify(("new-secret", "old-secret"), timestamp=str(NOW), signature=sign("older", NOW, BODY), body=BODY,
               now=NOW, tolerance_seconds=300)
