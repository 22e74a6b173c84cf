"""A clock changed by another writer is a conflict to redo, not a poison message."""

from shared.failures import Failure, classify
from sla_monitor.clock_store import StaleClock


def test_a_stale_clock_is_retried_not_dead_lettered() -> None:
    assert classify(StaleClock("1 clock(s) changed after they were read")) is Failure.TRANSIENT
