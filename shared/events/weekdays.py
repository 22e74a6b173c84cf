"""Weekday names as documents spell them (working hours, business hours), in ``date.weekday()`` order."""

from __future__ import annotations

from datetime import date
from typing import Literal

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday_of(day: date) -> Weekday:
    return WEEKDAYS[day.weekday()]
