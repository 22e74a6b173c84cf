"""Reading older versions of an event: each breaking change of an event's ``data`` adds one upcast.

An upcast turns version ``n`` of one event type's data into version ``n + 1`` (a plain dict to a plain dict,
beside the model it serves); decoding runs them in order before validation, so handlers only ever see the
current version. Events without a ``dataversion`` are version 1. A version newer than the reader's is read
as is: unknown fields are ignored, and a breaking change is never made without a new version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Upcast = Callable[[dict[str, Any]], dict[str, Any]]

#: (event type, version it reads) -> the upcast to the next version. Version 1 is current everywhere today.
UPCASTS: dict[tuple[str, int], Upcast] = {}


class UnknownEventVersion(ValueError):
    """An event of an older version that no upcast chain leads from."""


def upcast(event_type: str, version: int, data: dict[str, Any], *, current: int,
           upcasts: Mapping[tuple[str, int], Upcast] | None = None) -> dict[str, Any]:
    """``data`` of ``event_type`` at ``version``, brought up to ``current``."""
    chain = UPCASTS if upcasts is None else upcasts
    while version < current:
        step = chain.get((event_type, version))
        if step is None:
            raise UnknownEventVersion(
                f"Event type {event_type!r} version {version} cannot be read: no upcast to version {version + 1}.")
        data = step(dict(data))
        version += 1
    return data
