"""Ops console sessions: a signed, expiring cookie value and the CSRF token derived from it.

Nothing is stored on the server. The signing key is derived from the admin token with a fixed label, so every
replica accepts a session another one issued, and changing ``ADMIN_TOKEN`` signs everybody out (a session signed
with ``ADMIN_TOKEN_PREVIOUS`` stays valid while the rotation lasts).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

COOKIE_NAME = "lr_console"
_KEY_LABEL = b"leadrouter ops console session v1"
_CSRF_LABEL = b"csrf:"


@dataclass(frozen=True)
class Session:
    """A signed-in operator: when the sign-in ends, and the token every form and htmx request must carry."""

    nonce: str
    expires_at: datetime
    csrf_token: str


def signing_keys(admin_tokens: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """One key per accepted admin token, the current one first."""
    return tuple(hmac.new(token, _KEY_LABEL, hashlib.sha256).digest() for token in admin_tokens)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def _csrf(key: bytes, nonce: str) -> str:
    return _b64(hmac.new(key, _CSRF_LABEL + nonce.encode(), hashlib.sha256).digest())


def issue(keys: tuple[bytes, ...], *, now: datetime, lifetime: timedelta) -> tuple[str, Session]:
    """A new session: the cookie value and what it stands for."""
    nonce = secrets.token_urlsafe(18)
    expires_at = now + lifetime
    payload = _b64(json.dumps({"n": nonce, "e": int(expires_at.timestamp())}).encode())
    return f"{payload}.{_sign(keys[0], payload)}", Session(nonce, expires_at, _csrf(keys[0], nonce))


def verify(cookie: str | None, keys: tuple[bytes, ...], *, now: datetime) -> Session | None:
    """The session of a cookie value that one of ``keys`` signed and that has not expired; None otherwise."""
    if not cookie or len(cookie) > 512:
        return None
    payload, _, signature = cookie.partition(".")
    for key in keys:
        if hmac.compare_digest(_sign(key, payload).encode(), signature.encode()):
            break
    else:
        return None
    try:
        data = json.loads(_unb64(payload))
        nonce, expires = str(data["n"]), int(data["e"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    expires_at = datetime.fromtimestamp(expires, tz=now.tzinfo)
    if expires_at <= now:
        return None
    return Session(nonce, expires_at, _csrf(key, nonce))


def csrf_matches(session: Session, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(session.csrf_token.encode(), given.encode())
