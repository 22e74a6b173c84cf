"""CRM webhook signatures: ``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`` plus a fresh timestamp."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


class SignatureRejected(Exception):
    """The webhook is not signed with our secret, or its timestamp is stale."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secrets: str | Sequence[str], *, timestamp: str | None, signature: str | None, body: bytes, now: float,
           tolerance_seconds: int) -> None:
    """Raise ``SignatureRejected`` unless the timestamp is recent and the signature matches one of ``secrets``
    (the current secret and, while it is rotated, the previous one). Every secret is compared, each in constant
    time over the raw body's HMAC, so the answer takes as long whichever matched."""
    if not timestamp or not signature:
        raise SignatureRejected("X-Webhook-Timestamp and X-Webhook-Signature are both required.")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureRejected("X-Webhook-Timestamp must be unix seconds.") from None
    if abs(now - sent_at) > tolerance_seconds:
        raise SignatureRejected(
            f"X-Webhook-Timestamp is more than {tolerance_seconds} seconds away from the server's clock.")
    given = signature.strip().encode()
    matched = False
    for secret in (secrets,) if isinstance(secrets, str) else secrets:
        matched |= hmac.compare_digest(sign(secret, timestamp, body).encode(), given)
    if not matched:
        raise SignatureRejected("X-Webhook-Signature does not match the body.")
