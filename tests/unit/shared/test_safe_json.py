"""Reading JSON bodies safely: hostile shapes are a ``UnsafeJson`` naming the problem, cheaply."""

from __future__ import annotations

import time

import pytest

from shared.safe_json import MAX_DEPTH, UnsafeJson, loads


def test_ordinary_json_reads_as_usual() -> None:
    assert loads(b'{"a": [1, 2.5, "x", null, true], "b": {"c": -3}}') == {
        "a": [1, 2.5, "x", None, True], "b": {"c": -3}}


@pytest.mark.parametrize(("body", "why"), [
    (b"[" * 60_000 + b"]" * 60_000, "nested deeper"),
    (b"[" * 60_000, "nested deeper"),
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "nested deeper"),
    (b'{"n": ' + b"9" * 5_000 + b"}", "5000 digits"),
    (b'{"n": -' + b"9" * 100 + b"}", "100 digits"),
    (b'{"n": NaN}', "NaN"),
    (b'{"n": 1e999}', "finite"),
    (b'{"company": "A\\u0000B"}', "company"),
    (b'{"a\\u0000": 1}', "NUL"),
    (b'{"company": "\\ud800"}', "surrogate"),
    (b"\xff\xfe", "UTF-8"),
    (b'{"a": ', "not valid JSON"),
])
def test_hostile_bodies_are_refused_with_the_reason(body: bytes, why: str) -> None:
    started = time.perf_counter()
    with pytest.raises(UnsafeJson, match=why):
        loads(body)
    assert time.perf_counter() - started < 0.5


def test_a_nul_character_names_the_path_of_its_field() -> None:
    with pytest.raises(UnsafeJson) as caught:
        loads(b'{"leads": [{"email": "a@b.co"}, {"notes": "x\\u0000"}]}')
    assert caught.value.field == "leads[1].notes"
