"""The import's state file: which chunks intake acknowledged, and what it answered for each.

One JSON line per acknowledged chunk, appended (and flushed to disk) as soon as intake answered, after a first
line naming the file (SHA-256) and the chunk size. An import that is interrupted and run again sends only the
chunks not recorded yet; a changed file is refused rather than half re-sent, and a resumed import keeps the chunk
size it started with. Appending keeps a large import's bookkeeping linear; a last line cut short by a crash is a
chunk not recorded (sent again on resume), never a damaged state.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION = 1


class StateProblem(ValueError):
    """The state file does not fit this import; the message says what to do."""


@dataclass
class ImportState:
    file_sha256: str
    chunk_size: int
    #: Chunk index → ``{"accepted": [{"row", "lead_id", "duplicate_of"}], "rejected": [{"row", "line", "errors"}]}``
    #: with the file's row numbers.
    chunks: dict[int, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def header(self) -> dict[str, Any]:
        return {"version": VERSION, "file_sha256": self.file_sha256, "chunk_size": self.chunk_size}

    def accepted(self) -> list[dict[str, Any]]:
        return [row for _, result in sorted(self.chunks.items()) for row in result["accepted"]]

    def rejected(self) -> list[dict[str, Any]]:
        return [row for _, result in sorted(self.chunks.items()) for row in result["rejected"]]


def default_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.name + ".import-state.jsonl")


def idempotency_key(state: ImportState, index: int) -> str:
    """Deterministic per file, chunk size and chunk: a retried chunk carries the same key."""
    return f"leadrouter-import-{state.file_sha256[:32]}-{state.chunk_size}-{index}"


def _damaged(path: Path, why: str) -> StateProblem:
    return StateProblem(f"The state file {path} cannot be used: {why}. Delete it, or pass --restart to import the "
                        "whole file again (rows sent before would be sent twice).")


def _parse(path: Path, lines: list[str]) -> ImportState:
    try:
        header = json.loads(lines[0])
    except ValueError:
        raise _damaged(path, "its first line is not JSON") from None
    if not isinstance(header, dict) or header.get("version") != VERSION:
        raise _damaged(path, "it is not a state file of this version of leadrouter")
    try:
        state = ImportState(str(header["file_sha256"]), int(header["chunk_size"]))
        for number, line in enumerate(lines[1:], start=2):
            try:
                record = json.loads(line)
            except ValueError:
                if number == len(lines):
                    break  # cut short while being written: that chunk was not recorded
                raise _damaged(path, f"line {number} is not JSON") from None
            state.chunks[int(record["chunk"])] = {"accepted": list(record["accepted"]),
                                                  "rejected": list(record["rejected"])}
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, StateProblem):
            raise
        raise _damaged(path, "its content is not what leadrouter writes") from None
    return state


def load(path: Path) -> ImportState | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _damaged(path, f"it cannot be read ({exc})") from None
    lines = [line for line in text.splitlines() if line.strip()]
    return _parse(path, lines) if lines else None


def begin(path: Path, state: ImportState) -> None:
    """Write the state from scratch (a new import, or ``--restart``): before anything is sent, so a state file
    that cannot be written stops the import before a row reaches intake."""
    partial = path.with_name(path.name + ".partial")
    lines = [json.dumps(state.header())] + [json.dumps({"chunk": index, **result})
                                            for index, result in sorted(state.chunks.items())]
    partial.write_text("\n".join(lines) + "\n")
    os.replace(partial, path)


def record(path: Path, state: ImportState, index: int, result: dict[str, list[dict[str, Any]]]) -> None:
    """Append one acknowledged chunk (flushed to disk before the next chunk is sent)."""
    state.chunks[index] = result
    with path.open("a") as file:
        file.write(json.dumps({"chunk": index, **result}) + "\n")
        file.flush()
        os.fsync(file.fileno())


def start(stored: ImportState | None, *, file_sha256: str, chunk_size: int, restart: bool) -> ImportState:
    """The state to continue from: the stored one for this very file, else a fresh one (``--restart``: always)."""
    if stored is None or restart:
        return ImportState(file_sha256, chunk_size)
    if stored.file_sha256 != file_sha256:
        raise StateProblem("The file changed since part of it was imported (its state file belongs to another "
                           "version of it). Pass --restart to import the whole file again (rows sent before would "
                           "be sent twice), or --state to keep a separate state file.")
    return stored
