"""Console helpers: where sign-in may send the browser back to, and what a countdown shows before its script
takes over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sla_monitor.board_store import BoardRow
from sla_monitor.console.auth import safe_next
from sla_monitor.console.board import time_left

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("target", "expected"), [
    ("/ops/plumbing?state=failed", "/ops/plumbing?state=failed"),
    ("/ops", "/ops"),
    ("/ops/", "/ops/"),
    ("https://evil.example/ops/", "/ops/"),
    ("//evil.example/ops/", "/ops/"),
    ("/v1/subscriptions", "/ops/"),
    ("/opsx", "/ops/"),
    ("/ops\\evil", "/ops/"),
    ("/ops/\r\nSet-Cookie: x", "/ops/"),
    ("", "/ops/"),
    (None, "/ops/"),
])
def test_sign_in_returns_only_to_console_pages(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def _row(due_in: timedelta, *, state: str = "running", warn_in: timedelta | None = None) -> BoardRow:
    return BoardRow(clock_id="c", lead_id="l", company=None, source=None, campaign=None, team="t", rep_id=None,
                    urgency="hot", state=state, started_at=NOW - timedelta(minutes=1), due_at=NOW + due_in,
                    warn_at=NOW + warn_in if warn_in is not None else None, warned_at=None, breached_at=None)


def test_the_countdown_shows_minutes_and_seconds_hours_when_long_and_overdue_after() -> None:
    assert time_left(_row(timedelta(minutes=4, seconds=5)), NOW) == "4:05"
    assert time_left(_row(timedelta(hours=23, minutes=59, seconds=51)), NOW) == "23:59:51"
    assert time_left(_row(timedelta(seconds=-75)), NOW) == "overdue 1:15"


def test_a_row_is_a_warning_from_its_warning_time_and_breached_once_breached() -> None:
    assert _row(timedelta(minutes=5), warn_in=timedelta(minutes=1)).status(NOW) == "running"
    assert _row(timedelta(minutes=5), warn_in=timedelta(0)).status(NOW) == "warning"
    assert _row(timedelta(minutes=-5), state="breached", warn_in=timedelta(minutes=-9)).status(NOW) == "breached"
