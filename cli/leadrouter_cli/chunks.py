"""Splitting a CSV upload into chunks intake accepts, each with the header row, keeping every row's number.

Rows are numbered as intake numbers them when the whole file is posted at once: data rows from 1, the header
not counted, blank lines skipped. Each row also keeps the line of the file it starts on (a quoted cell may span
lines), which is what an operator looks for in an editor.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass


class CsvProblem(ValueError):
    """The file cannot be imported as it is; the message says why and where."""


@dataclass(frozen=True)
class Chunk:
    index: int
    #: Row number (as above) of the chunk's first row.
    first_row: int
    #: The file's line on which each of the chunk's rows starts.
    lines: tuple[int, ...]
    #: The header row and the chunk's rows, as CSV.
    body: bytes

    @property
    def rows(self) -> int:
        return len(self.lines)

    @property
    def last_row(self) -> int:
        return self.first_row + self.rows - 1

    def file_row(self, row_in_chunk: int) -> int:
        """The file's row number of the chunk's ``row_in_chunk``-th row (intake numbers a chunk's rows from 1)."""
        if not 1 <= row_in_chunk <= self.rows:
            raise ValueError(f"Chunk {self.index} has no row {row_in_chunk}.")
        return self.first_row + row_in_chunk - 1

    def file_line(self, row_in_chunk: int) -> int:
        return self.lines[row_in_chunk - 1]


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _encode(header: list[str], records: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(records)
    return buffer.getvalue().encode()


def split(data: bytes, size: int) -> list[Chunk]:
    """The chunks of ``size`` rows (the last one may be shorter); raises ``CsvProblem``."""
    if size < 1:
        raise CsvProblem("The chunk size must be at least 1 row.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvProblem(f"The file is not UTF-8 (byte {exc.start} cannot be read). Save it as UTF-8 CSV.") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    chunks: list[Chunk] = []
    try:
        header = next(reader, None)
        if not header:
            raise CsvProblem("The file is empty: it needs a header row with the field names, then one lead per row.")
        records: list[list[str]] = []
        lines: list[int] = []
        row = 0
        line_after = reader.line_num
        for record in reader:
            starts_on, line_after = line_after + 1, reader.line_num
            if not record:
                continue  # intake skips blank lines too, without counting them as rows
            row += 1
            records.append(record)
            lines.append(starts_on)
            if len(records) == size:
                chunks.append(Chunk(len(chunks), row - size + 1, tuple(lines), _encode(header, records)))
                records, lines = [], []
        if records:
            chunks.append(Chunk(len(chunks), row - len(records) + 1, tuple(lines), _encode(header, records)))
    except csv.Error as exc:
        raise CsvProblem(f"The CSV cannot be read at line {reader.line_num}: {exc}.") from None
    return chunks
