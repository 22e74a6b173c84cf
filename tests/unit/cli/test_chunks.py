"""Splitting a CSV into chunks keeps intake's row numbers and each row's line in the file."""

from __future__ import annotations

import csv
import io

import pytest

from leadrouter_cli.chunks import CsvProblem, split


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(), newline="")))


def test_every_chunk_repeats_the_header_and_rows_keep_their_file_numbers() -> None:
    data = b"email,source\r\na@x.io,badge_scan\r\nb@x.io,badge_scan\r\nc@x.io,badge_scan\r\n"
    chunks = split(data, 2)
    assert [(c.index, c.first_row, c.rows, c.lines) for c in chunks] == [(0, 1, 2, (2, 3)), (1, 3, 1, (4,))]
    assert _rows(chunks[0].body) == [["email", "source"], ["a@x.io", "badge_scan"], ["b@x.io", "badge_scan"]]
    assert _rows(chunks[1].body) == [["email", "source"], ["c@x.io", "badge_scan"]]
    assert chunks[1].file_row(1) == 3 and chunks[1].file_line(1) == 4


def test_blank_lines_are_no_rows_and_a_quoted_cell_over_two_lines_keeps_the_line_it_starts_on() -> None:
    data = b'email,notes\n\na@x.io,"two\nlines"\n\nb@x.io,one\n'
    (chunk,) = split(data, 10)
    assert chunk.rows == 2 and chunk.lines == (3, 6)
    assert _rows(chunk.body)[1] == ["a@x.io", "two\nlines"]


def test_a_byte_order_mark_is_dropped_and_a_row_number_outside_the_chunk_is_refused() -> None:
    (chunk,) = split("\ufeffemail\na@x.io\n".encode(), 5)
    assert _rows(chunk.body)[0] == ["email"]
    with pytest.raises(ValueError, match="no row 2"):
        chunk.file_row(2)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"email\n\xff\xfe\n", "not UTF-8"),
    (b"email\n" + b"x" * 200_000 + b"\n", "cannot be read at line 2: field larger than field limit"),
])
def test_files_that_cannot_be_imported_say_why(data: bytes, message: str) -> None:
    with pytest.raises(CsvProblem, match=message):
        split(data, 10)


def test_a_header_without_rows_gives_no_chunks() -> None:
    assert split(b"email,source\n", 10) == []
