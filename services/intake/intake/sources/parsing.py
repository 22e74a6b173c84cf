"""Small helpers the provider parsers share: signatures on the raw body, reading a provider's JSON safely."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from intake.signatures import SignatureRejected
from intake.sources.submission import invalid


def hmac_sha256_base64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def require_match(given: str | None, expected: str, *, header: str) -> None:
    """``SignatureRejected`` unless ``given`` equals ``expected`` (compared in constant time)."""
    if not given:
        raise SignatureRejected(f"The {header} header is missing.")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise SignatureRejected(f"The {header} header does not match the body.")


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(where, f"{where} must be a JSON object.")
    return value


def text(value: Any, where: str, *, required: bool = False) -> str | None:
    """A string (or a number, as providers send ids either way) as text; ``None`` when absent."""
    if value is None or value == "":
        if required:
            raise invalid(where, f"{where} is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(where, f"{where} must be a string.")
    return str(value)


def timestamp(value: Any, where: str) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset; none means UTC, as the providers document their times)."""
    raw = text(value, where)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid(where, f"{where} is not an ISO 8601 time.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def answer_text(value: Any) -> str | None:
    """A scalar answer as text (booleans as yes/no); ``None`` for nothing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | str):
        return str(value)
    return None
