"""Durations as people write them: ``45s``, ``30m``, ``24h``, ``3d``, ``1h30m``, or a number of seconds.

Every duration is at most ``MAX_DURATION`` (365 days): anything longer is a typo, and unbounded ones overflow
date arithmetic later, when a clock is started or fired rather than when the document is saved.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION = timedelta(days=365)


def parse_duration(value: Any) -> timedelta:
    """Parse ``value``; raise ``ValueError`` with an example when it is not a duration."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        seconds = _seconds(value)
    if math.isnan(seconds):
        raise ValueError(f"{_shown(value)} is not a number; write e.g. 30m, 24h, 3d or a number of seconds")
    if seconds < 0:
        raise ValueError(f"{_shown(value)} is negative; a duration must be zero or more")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{_shown(value)} is longer than {MAX_DURATION.days} days, the longest duration allowed")
    return timedelta(seconds=seconds)


def _shown(value: Any) -> str:
    if isinstance(value, int) and abs(value) >= 10**40:
        return "a number that large"  # repr() of an integer with thousands of digits raises
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{_shown(value)} is not a duration; write e.g. 30m, 24h, 3d or a number of seconds")
    if isinstance(value, int | float):
        # float() of an integer with thousands of digits raises; anything that large is simply too long
        if isinstance(value, float) or abs(value) < 10**20:
            seconds = float(value)
        else:
            seconds = math.inf if value > 0 else -math.inf
    elif isinstance(value, str) and value.strip():
        text = value.strip().lower()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            parts = _PART.findall(text)
            if not parts or _PART.sub("", text).strip():
                raise ValueError(f"{_shown(value)} is not a duration; write e.g. 45s, 30m, 24h, 3d or 1h30m")
            seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    else:
        raise ValueError(f"{_shown(value)} is not a duration; write e.g. 30m, 24h, 3d or a number of seconds")
    return seconds


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling: ``30m``, ``24h``, ``90s``."""
    seconds = delta.total_seconds()
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if unit in ("w", "d") and seconds < 2 * size:
            continue  # 24h reads better than 1d, 48h than 2d is a matter of taste; keep days from 2 on
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def in_words(seconds: float) -> str:
    """A rough length of time as a message reads it: ``30 min``, ``5 h``, ``3 days``."""
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} h"
    return f"{round(minutes / 1440)} days"
