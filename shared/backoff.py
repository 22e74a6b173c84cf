"""The project's one retry delay: exponential backoff with jitter, capped."""

from __future__ import annotations

import random

#: Past this many doublings every delay is at the cap anyway; it also keeps ``2 ** n`` from overflowing.
_MAX_DOUBLINGS = 62


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = the first retry): ``base``, 2×, 4×… up to ``cap``,
    each within ±20% so that many waiting callers do not retry in lockstep."""
    doublings = min(_MAX_DOUBLINGS, max(0, attempt - 1))
    return min(cap, base * 2.0 ** doublings) * (rng or random).uniform(0.8, 1.2)
