"""Ops console sessions: signed, expiring, bound to the admin token, each with its own CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sla_monitor.console.session import csrf_matches, issue, signing_keys, verify

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
KEYS = signing_keys((b"admin-token",))


def test_a_session_issued_now_is_accepted_until_it_expires() -> None:
    cookie, session = issue(KEYS, now=NOW, lifetime=timedelta(hours=12))
    assert verify(cookie, KEYS, now=NOW + timedelta(hours=11, minutes=59)) == session
    assert verify(cookie, KEYS, now=NOW + timedelta(hours=12)) is None


def test_a_changed_cookie_or_another_admin_token_is_refused() -> None:
    cookie, _ = issue(KEYS, now=NOW, lifetime=timedelta(hours=1))
    payload, _, signature = cookie.partition(".")
    assert verify(payload + "." + signature[::-1], KEYS, now=NOW) is None
    assert verify(payload[:-2] + "AA." + signature, KEYS, now=NOW) is None
    assert verify(cookie, signing_keys((b"another-token",)), now=NOW) is None
    assert verify("", KEYS, now=NOW) is None and verify("garbage", KEYS, now=NOW) is None


def test_a_session_signed_with_the_previous_admin_token_lasts_through_a_rotation() -> None:
    cookie, session = issue(signing_keys((b"old-token",)), now=NOW, lifetime=timedelta(hours=1))
    rotated = signing_keys((b"new-token", b"old-token"))
    assert verify(cookie, rotated, now=NOW) == session


def test_each_session_has_its_own_csrf_token_and_only_that_one_matches() -> None:
    _, first = issue(KEYS, now=NOW, lifetime=timedelta(hours=1))
    _, second = issue(KEYS, now=NOW, lifetime=timedelta(hours=1))
    assert first.csrf_token != second.csrf_token
    assert csrf_matches(first, first.csrf_token)
    assert not csrf_matches(first, second.csrf_token)
    assert not csrf_matches(first, None) and not csrf_matches(first, "")
