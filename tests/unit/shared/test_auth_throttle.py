"""The count of refused credentials per client address (``shared.auth_throttle``), with time passed in."""

from __future__ import annotations

import pytest

from shared.auth_throttle import FailedAttempts


def test_an_address_is_blocked_at_the_limit_until_its_oldest_failure_leaves_the_window() -> None:
    throttle = FailedAttempts(limit=3, window=60)
    for at in (0.0, 10.0, 20.0):
        assert throttle.retry_after("10.0.0.1", at) is None
        throttle.failed("10.0.0.1", at)
    assert throttle.retry_after("10.0.0.1", 20.0) == 40  # the failure at 0 s ages out at 60 s
    assert throttle.retry_after("10.0.0.1", 59.5) == 1
    assert throttle.retry_after("10.0.0.1", 60.0) is None  # two failures left in the window: one more try
    throttle.failed("10.0.0.1", 60.0)
    assert throttle.retry_after("10.0.0.1", 60.0) == 10  # the failure at 10 s ages out at 70 s


def test_failures_spread_wider_than_the_window_never_block() -> None:
    throttle = FailedAttempts(limit=3, window=60)
    for n in range(20):
        assert throttle.retry_after("10.0.0.1", n * 31.0) is None
        throttle.failed("10.0.0.1", n * 31.0)


def test_each_address_has_its_own_budget() -> None:
    throttle = FailedAttempts(limit=2, window=60)
    throttle.failed("10.0.0.1", 0.0)
    throttle.failed("10.0.0.1", 1.0)
    assert throttle.retry_after("10.0.0.1", 2.0) == 58
    assert throttle.retry_after("10.0.0.2", 2.0) is None


def test_past_max_clients_the_least_recently_failing_address_is_forgotten() -> None:
    throttle = FailedAttempts(limit=2, window=60, max_clients=2)
    for client in ("a", "b"):
        throttle.failed(client, 0.0)
        throttle.failed(client, 0.0)
    throttle.failed("a", 1.0)  # a failed most recently: b is the one to forget
    throttle.failed("c", 1.0)
    assert throttle.retry_after("a", 1.0) is not None
    assert throttle.retry_after("b", 1.0) is None
    assert len(throttle._failures) == 2


def test_an_address_whose_failures_aged_out_is_not_remembered() -> None:
    throttle = FailedAttempts(limit=2, window=60)
    throttle.failed("a", 0.0)
    assert throttle.retry_after("a", 61.0) is None
    assert "a" not in throttle._failures


@pytest.mark.parametrize(("limit", "window"), [(0, 60.0), (3, 0.0)])
def test_a_limit_or_window_that_would_block_everything_is_refused(limit: int, window: float) -> None:
    with pytest.raises(ValueError):
        FailedAttempts(limit=limit, window=window)
