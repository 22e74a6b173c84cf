"""Reading an uploaded document (routing rules, SLA policies) from JSON or YAML, safely.

``read_document(raw, content_type)`` gives a mapping of plain JSON values, or raises ``UnreadableDocument``
naming the problem, for the API to answer with a 4xx. It refuses, cheaply and before building anything big:
nesting deeper than ``MAX_DEPTH``, integers longer than ``MAX_INT_DIGITS`` digits (Python refuses to read
more than 4,300 anyway, with a ValueError), ``NaN``/``.inf``, YAML anchors and aliases (an alias bomb expands
a few hundred bytes into billions of nodes), more than ``MAX_NODES`` values, and keys that are not text.
YAML dates stay text (``2026-12-25``), so what is stored is exactly what a JSON column can hold.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml

#: libyaml's parser when PyYAML has it (it reads a 1 MiB document many times faster than the pure-Python one).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
MAX_DEPTH = 32
MAX_INT_DIGITS = 20
MAX_NODES = 200_000


class UnreadableDocument(ValueError):
    """The body is not a document we can read; ``message`` says why, ``status_code`` is the HTTP answer."""

    def __init__(self, message: str, *, status_code: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    @property
    def errors(self) -> list[dict[str, str]]:
        return [{"path": "body", "message": self.message}]


def is_yaml(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in YAML_TYPES


def read_document(raw: bytes, content_type: str | None, *, max_bytes: int | None = None) -> dict[str, Any]:
    """The mapping in ``raw`` (YAML for a YAML content type, JSON otherwise), or ``UnreadableDocument``."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise UnreadableDocument(f"The document is larger than the limit of {max_bytes} bytes.", status_code=413)
    kind = "YAML" if is_yaml(content_type) else "JSON"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(f"The body is not UTF-8 text (at byte {exc.start}); send the {kind} as UTF-8.") \
            from None
    document = _load_yaml(text) if kind == "YAML" else _load_json(text)
    if not isinstance(document, dict):
        raise UnreadableDocument(f"The {kind} document must be a mapping of fields, not {_kind_of(document)}.")
    _check_tree(document)
    return document


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    except RecursionError:
        raise UnreadableDocument(f"The JSON is nested deeper than {MAX_DEPTH} levels.") from None
    except json.JSONDecodeError as exc:
        raise UnreadableDocument(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") \
            from None


def _json_int(digits: str) -> int:
    return _checked_int(digits, digits.lstrip("-"))


def _json_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise UnreadableDocument(f"The number {value[:20]} is too large; numbers must be finite.")
    return number


def _json_constant(name: str) -> Any:
    raise UnreadableDocument(f"{name} is not a number a document may hold; numbers must be finite.")


def _checked_int(text: str, digits: str) -> int:
    if len(digits) > MAX_INT_DIGITS:
        raise UnreadableDocument(
            f"An integer has {len(digits)} digits ({text[:12]}…); numbers in a document have at most "
            f"{MAX_INT_DIGITS} digits.")
    return int(text)


class _DocumentLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """PyYAML's safe loader, minus timestamps (dates stay text) and with bounded numbers."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_yaml_int(self, node: yaml.Node) -> int:  # type: ignore[override]
        value = str(node.value)
        digits = value.replace("_", "").lstrip("+-")
        if len(digits) > MAX_INT_DIGITS:
            _checked_int(value, digits)
        return super().construct_yaml_int(node)  # type: ignore[no-any-return]

    def construct_yaml_float(self, node: yaml.Node) -> float:  # type: ignore[override]
        number = super().construct_yaml_float(node)
        if not math.isfinite(number):
            raise UnreadableDocument(f"{node.value!r} is not a number a document may hold; numbers must be finite "
                                     f"(quote it if it is text).")
        return number  # type: ignore[no-any-return]


_DocumentLoader.add_constructor("tag:yaml.org,2002:int", _DocumentLoader.construct_yaml_int)
_DocumentLoader.add_constructor("tag:yaml.org,2002:float", _DocumentLoader.construct_yaml_float)


def _load_yaml(text: str) -> Any:
    try:
        _check_yaml_events(text)
        return yaml.load(text, Loader=_DocumentLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise UnreadableDocument(f"The body is not valid YAML: {_first_line(exc)}") from None
    except RecursionError:
        raise UnreadableDocument(f"The YAML is nested deeper than {MAX_DEPTH} levels.") from None


def _check_yaml_events(text: str) -> None:
    """One streaming pass over the YAML events (no tree is built): refuse aliases, anchors, deep nesting and
    too many values before the document is constructed."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise UnreadableDocument("YAML anchors and aliases (&name, *name) are not accepted in a document; "
                                     "write each value out.")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise UnreadableDocument(f"The YAML is nested deeper than {MAX_DEPTH} levels.")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise UnreadableDocument(f"The YAML holds more than {MAX_NODES} values.")


def _first_line(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{problem or str(exc).splitlines()[0]}{where}."


def _check_tree(document: dict[str, Any]) -> None:
    """Depth, size and text keys of a parsed document, walked without recursion."""
    stack: list[tuple[Any, int, str]] = [(document, 1, "")]
    nodes = 0
    while stack:
        value, depth, path = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise UnreadableDocument(f"The document holds more than {MAX_NODES} values.")
        if depth > MAX_DEPTH and isinstance(value, dict | list):
            raise UnreadableDocument(f"The document is nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise UnreadableDocument(f"{path or 'the document'} has a key that is not text ({key!r}); "
                                             "quote it.")
                stack.append((item, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{path}[{i}]") for i, item in enumerate(value))


def _kind_of(value: Any) -> str:
    return {list: "a list", str: "text", type(None): "empty"}.get(type(value), type(value).__name__)
