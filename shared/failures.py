"""Which failures are worth waiting out and which never will succeed, and how to describe them without PII.

Infrastructure failures (the database or broker away, a lock or statement timeout, a dropped connection)
say nothing about the message: they are retried without limit. Deterministic failures (a message that
does not decode or validate, a handler that keeps raising) go to the dead-letter topic.
"""

from __future__ import annotations

import json
from enum import StrEnum

from pydantic import ValidationError

from shared.logging import redact


class Failure(StrEnum):
    TRANSIENT = "transient"  # retry without limit, with backoff
    POISON = "poison"  # the message can never succeed: dead-letter it now
    BUG = "bug"  # retry a few times (it may be a race), then dead-letter


class PoisonMessage(Exception):
    """Raised for a message that can never succeed; it goes straight to the DLQ."""


#: Names of exception classes (from the database drivers and the broker client) that mean "try again later".
_TRANSIENT_NAMES = frozenset({
    "OperationalError", "InterfaceError", "DisconnectionError", "TimeoutError", "PoolTimeoutError",
    # asyncpg
    "PostgresConnectionError", "ConnectionDoesNotExistError", "ConnectionFailureError",
    "ConnectionRejectionError", "CannotConnectNowError", "TooManyConnectionsError", "LockNotAvailableError",
    "DeadlockDetectedError", "SerializationError", "QueryCanceledError", "AdminShutdownError",
    "CrashShutdownError", "InternalClientError",
    # aiokafka
    "KafkaConnectionError", "KafkaTimeoutError", "NodeNotReadyError", "RequestTimedOutError",
    "NotLeaderForPartitionError", "LeaderNotAvailableError", "UnknownTopicOrPartitionError",
    "NotEnoughReplicasError", "KafkaError",
    # sla-monitor: a clock changed after it was read (another writer won); redone from a fresh read
    "StaleClock",
})
_POISON_TYPES: tuple[type[BaseException], ...] = (PoisonMessage, ValidationError, RecursionError,
                                                  json.JSONDecodeError, UnicodeDecodeError)

#: The event contract's own refusals (``shared.events``), named to keep this module free of it.
_POISON_NAMES = frozenset({"UnknownEventType", "UnknownEventVersion"})


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (SQLAlchemy's ``orig``) and its causes, each once."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or any(current is s for s in seen) or len(seen) > 20:
            continue
        seen.append(current)
        pending.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return seen


def _is_transient(exc: BaseException) -> bool:
    for link in _chain(exc):
        if isinstance(link, OSError | TimeoutError):  # connection refused or reset, DNS failure, ...
            return True
        if any(cls.__name__ in _TRANSIENT_NAMES for cls in type(link).__mro__):
            return True
        if getattr(link, "connection_invalidated", False):
            return True
        if "database is locked" in str(link) and type(link).__name__ == "OperationalError":
            return True
    return False


def classify(exc: BaseException) -> Failure:
    """TRANSIENT for infrastructure errors, POISON for a message that cannot succeed, BUG otherwise."""
    if isinstance(exc, _POISON_TYPES) or type(exc).__name__ in _POISON_NAMES:
        return Failure.POISON
    if _is_transient(exc):
        return Failure.TRANSIENT
    return Failure.BUG


def describe(exc: BaseException, *, limit: int = 500) -> str:
    """A short message naming what went wrong without echoing input values (which may hold PII).

    Pydantic errors are rendered as "field: message" without ``input``; our own poison messages are kept;
    anything else (SQL errors carry their parameters) is named by its class only.
    """
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors(include_input=False, include_url=False, include_context=False):
            loc = ".".join(str(p) for p in err.get("loc", ())) or "message"
            parts.append(f"{loc}: {err.get('msg', 'is invalid')}")
        text = f"{exc.error_count()} validation error(s) for {exc.title}: " + "; ".join(parts)
    elif isinstance(exc, PoisonMessage | json.JSONDecodeError) or type(exc).__name__ in _POISON_NAMES:
        text = str(exc)
    elif isinstance(exc, UnicodeDecodeError):
        text = f"The message is not UTF-8 (byte {exc.start})."
    elif isinstance(exc, RecursionError):
        text = "The message is nested too deeply to decode."
    else:
        origin = getattr(exc, "orig", None)
        text = type(exc).__name__ + (f" ({type(origin).__name__})" if origin is not None else "")
    return redact(text)[:limit]  # a poison message's own text may still quote an email or phone
