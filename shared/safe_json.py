"""Reading a request's JSON body so that hostile input is a readable 4xx, never a 500.

``loads(raw)`` refuses, naming the problem: text that is not UTF-8 or not JSON, nesting deeper than
``MAX_DEPTH`` (Python's parser would raise ``RecursionError`` at ~1,000 levels, and a deep tree breaks
later recursive code too), integers longer than ``MAX_INT_DIGITS`` digits (Python refuses more than
4,300 with a ``ValueError``; no field needs more than a few), ``NaN``/``Infinity``, and NUL characters in
any text or key (PostgreSQL cannot store them and errors at insert time), and unpaired UTF-16 surrogates
(valid JSON escapes, but no text that can be stored or answered).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
MAX_INT_DIGITS = 64
#: A lone UTF-16 surrogate (``"\\ud800"``) is valid JSON but no text: it cannot be encoded to store or answer.
_UNPAIRED_SURROGATE = re.compile("[\ud800-\udfff]")


class UnsafeJson(ValueError):
    """The body is not JSON we accept; the message is a sentence naming the problem, ``field`` the path of the
    value at fault (``body`` when it is the body as a whole)."""

    def __init__(self, message: str, *, field: str = "body") -> None:
        super().__init__(message)
        self.field = field


def loads(raw: bytes | str) -> Any:
    """The JSON value in ``raw``, or ``UnsafeJson`` saying what is wrong with it."""
    value = parse(raw)
    check_tree(value)
    return value


def parse(raw: bytes | str) -> Any:
    """The first half of ``loads``: parse with bounded numbers and depth, before ``check_tree`` walks the value
    (a caller with a cheap size check of its own makes it first)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise UnsafeJson(f"The body is not UTF-8 text (at byte {exc.start}).") from None
    try:
        value = json.loads(text, parse_int=_int, parse_constant=_constant, parse_float=_float)
    except RecursionError:
        raise UnsafeJson(f"The JSON is nested deeper than {MAX_DEPTH} levels.") from None
    except json.JSONDecodeError as exc:
        raise UnsafeJson(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") \
            from None
    return value


def check_tree(value: Any) -> None:
    """Depth, NUL characters and unpaired surrogates of a parsed JSON value, walked without recursion."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise UnsafeJson(f"{path or 'The body'}: text must not contain NUL characters (\\u0000).",
                                 field=path or "body")
            if _UNPAIRED_SURROGATE.search(item):
                raise UnsafeJson(f"{path or 'The body'}: text holds an unpaired surrogate (\\ud800-\\udfff); "
                                 "send it as UTF-8.", field=path or "body")
        elif isinstance(item, dict):
            if depth >= MAX_DEPTH:
                raise UnsafeJson(f"The JSON is nested deeper than {MAX_DEPTH} levels.")
            for key, child in item.items():
                if "\x00" in key or _UNPAIRED_SURROGATE.search(key):
                    raise UnsafeJson(f"{path or 'The body'}: a key holds a NUL character or an unpaired "
                                     "surrogate.", field=path or "body")
                stack.append((child, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(item, list):
            if depth >= MAX_DEPTH:
                raise UnsafeJson(f"The JSON is nested deeper than {MAX_DEPTH} levels.")
            stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))


def _int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise UnsafeJson(f"A number in the body has {len(digits.lstrip('-'))} digits; at most {MAX_INT_DIGITS} "
                         "are accepted.")
    return int(digits)


def _float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise UnsafeJson(f"A number in the body is too large ({text[:16]}…); numbers must be finite.")
    return number


def _constant(name: str) -> Any:
    raise UnsafeJson(f"{name} is not accepted in the body; numbers must be finite.")
