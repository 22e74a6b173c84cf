"""Uploaded documents are read into plain JSON values, or refused with a sentence naming the problem, cheaply,
whatever the bytes are."""

from __future__ import annotations

import time

import pytest

from shared.document_parsing import MAX_DEPTH, UnreadableDocument, read_document

JSON, YAML = "application/json", "application/yaml"


def _refused(raw: bytes, content_type: str | None) -> str:
    started = time.perf_counter()
    with pytest.raises(UnreadableDocument) as caught:
        read_document(raw, content_type)
    assert time.perf_counter() - started < 2  # refused cheaply, not after building something huge
    assert caught.value.status_code == 422
    return caught.value.message


def test_json_and_yaml_documents_are_read_into_mappings() -> None:
    assert read_document(b'{"a": [1, 2.5, "x", null, true]}', JSON) == {"a": [1, 2.5, "x", None, True]}
    assert read_document(b"a: [1, 2.5, x]\nb: {c: d}\n", "application/yaml; charset=utf-8") == {
        "a": [1, 2.5, "x"], "b": {"c": "d"}}


@pytest.mark.parametrize("content_type", [JSON, YAML])
def test_nesting_60000_deep_is_refused(content_type: str) -> None:
    message = _refused(b"[" * 60_000 + b"]" * 60_000, content_type)
    assert f"nested deeper than {MAX_DEPTH} levels" in message or "maximum nesting depth" in message  # libyaml's own


def test_yaml_block_nesting_is_refused_too() -> None:
    deep = "".join("  " * i + f"k{i}:\n" for i in range(2_000)) + "  " * 2_000 + "x: 1\n"
    assert "nested deeper than" in _refused(deep.encode(), YAML)


@pytest.mark.parametrize("content_type", [JSON, YAML])
def test_an_integer_of_5000_digits_is_refused(content_type: str) -> None:
    raw = b'{"priority": ' + b"9" * 5_000 + b"}"
    assert "An integer has 5000 digits" in _refused(raw, content_type)


@pytest.mark.parametrize(("raw", "content_type"), [
    (b'{"a": NaN}', JSON), (b'{"a": Infinity}', JSON), (b'{"a": 1e999}', JSON),
    (b"a: .inf", YAML), (b"a: -.Inf", YAML), (b"a: .nan", YAML),
])
def test_infinite_and_not_a_number_values_are_refused(raw: bytes, content_type: str) -> None:
    assert "finite" in _refused(raw, content_type)


def test_a_yaml_alias_bomb_is_refused_before_it_expands() -> None:
    bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9))
    assert "anchors and aliases" in _refused(bomb.encode(), YAML)


def test_unquoted_yaml_dates_stay_text_so_they_can_be_stored_as_json() -> None:
    document = read_document(b"holidays: [2026-12-25, 2026-12-26T00:00:00Z]\n", YAML)
    assert document == {"holidays": ["2026-12-25", "2026-12-26T00:00:00Z"]}


@pytest.mark.parametrize(("raw", "content_type", "problem"), [
    (b"[1, 2]", JSON, "must be a mapping of fields, not a list"),
    (b"- a\n", YAML, "must be a mapping of fields, not a list"),
    (b"", YAML, "not empty"),
    (b'{"a": "\xff"}', JSON, "not UTF-8"),
    (b'{"a": ', JSON, "not valid JSON"),
    (b"a: [1\n", YAML, "not valid YAML"),
    (b"1: one\n", YAML, "key that is not text"),
    (b"a: !!python/object:os.system {}\n", YAML, "not valid YAML"),
])
def test_other_unreadable_bodies_name_their_problem(raw: bytes, content_type: str, problem: str) -> None:
    assert problem in _refused(raw, content_type)


def test_a_body_over_the_size_limit_is_a_413() -> None:
    with pytest.raises(UnreadableDocument) as caught:
        read_document(b'{"a": "' + b"x" * 2_000 + b'"}', JSON, max_bytes=1_000)
    assert caught.value.status_code == 413

