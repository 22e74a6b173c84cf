"""Subscription signing secrets and their rotation.

Rotating a secret keeps the previous one valid for a grace period: deliveries in that period carry a
signature under each secret (Standard Webhooks allows several, space-separated, in ``webhook-signature``),
so a receiver can switch to the new secret whenever it likes within the period without rejecting anything.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime


def new_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secrets(secret: str, previous: str | None, previous_valid_until: datetime | None, *,
                    now: datetime) -> list[str]:
    """The secrets a delivery made at ``now`` is signed with: the current one, and the previous one while
    its grace period lasts."""
    if previous and previous_valid_until is not None and now < previous_valid_until:
        return [secret, previous]
    return [secret]
