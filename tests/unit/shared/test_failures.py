"""Failures are classified by what retrying can do about them, and described without input values."""

from __future__ import annotations

import json
import random

import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from shared.backoff import backoff_delay
from shared.events import UnknownEventType, UnknownEventVersion
from shared.failures import Failure, PoisonMessage, classify, describe

PII = "jane.doe@example.com"


class _Lead(BaseModel):
    employees: int


def _validation_error() -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        _Lead.model_validate({"employees": PII})
    return caught.value


class LockNotAvailableError(Exception):
    """Stands in for asyncpg's lock timeout, recognised by name."""


def _wrapped(orig: Exception) -> OperationalError:
    return OperationalError("UPDATE leads SET email=$1", {"email": PII}, orig)


@pytest.mark.parametrize("exc", [
    _wrapped(Exception("database is locked")),
    InterfaceError("SELECT 1", {}, ConnectionResetError()),
    ConnectionRefusedError(), TimeoutError(), KafkaConnectionError(),
    RuntimeError("while saving"),  # ...wrapping a lock timeout as its cause:
], ids=["sqlite-locked", "interface", "refused", "timeout", "broker", "caused-by-lock"])
def test_infrastructure_failures_are_transient(exc: Exception) -> None:
    if isinstance(exc, RuntimeError):
        exc.__cause__ = LockNotAvailableError()
    assert classify(exc) is Failure.TRANSIENT


@pytest.mark.parametrize("exc", [
    PoisonMessage("never"), _validation_error(), RecursionError(), json.JSONDecodeError("x", "", 0),
    UnknownEventType("t"), UnknownEventVersion("v"),
], ids=["poison", "validation", "recursion", "json", "type", "version"])
def test_messages_that_can_never_succeed_are_poison(exc: Exception) -> None:
    assert classify(exc) is Failure.POISON


def test_a_handler_bug_or_a_lasting_integrity_error_is_a_bug() -> None:
    assert classify(KeyError("x")) is Failure.BUG
    assert classify(IntegrityError("INSERT", {}, Exception("duplicate key"))) is Failure.BUG


def test_descriptions_never_echo_input_values() -> None:
    validation = describe(_validation_error())
    assert "employees" in validation and PII not in validation
    sql = describe(_wrapped(Exception(f"lock on {PII}")))
    assert sql == "OperationalError (Exception)"
    assert describe(PoisonMessage("The activity has no type.")) == "The activity has no type."


def test_backoff_doubles_up_to_the_cap_with_jitter_and_never_overflows() -> None:
    rng = random.Random(7)
    assert 0.8 <= backoff_delay(1, base=1, cap=60, rng=rng) <= 1.2
    assert 6.4 <= backoff_delay(4, base=1, cap=60, rng=rng) <= 9.6
    assert 48 <= backoff_delay(10_000, base=1, cap=60, rng=rng) <= 72
    assert len({backoff_delay(3, base=1, cap=60, rng=rng) for _ in range(10)}) == 10
