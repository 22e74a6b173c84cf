"""The import's state file: which chunks intake acknowledged, and what it answered for each.

It is written (atomically) after every acknowledged chunk, so an import that is interrupted and run again sends
only the chunks not acknowledged yet. It is keyed by the file's SHA-256 and the chunk size: a changed file is
refused rather than half re-sent, and a resumed import keeps the chunk size it started with.
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

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "file_sha256": self.file_sha256, "chunk_size": self.chunk_size,
                "chunks": {str(index): result for index, result in sorted(self.chunks.items())}}

    @classmethod
    def from_json(cls, data: Any) -> ImportState:
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise StateProblem("it is not a state file of this version of leadrouter")
        try:
            chunks = {int(index): {"accepted": list(result["accepted"]), "rejected": list(result["rejected"])}
                      for index, result in data["chunks"].items()}
            return cls(str(data["file_sha256"]), int(data["chunk_size"]), chunks)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise StateProblem("its content is damaged") from None

    def accepted(self) -> list[dict[str, Any]]:
        return [row for _, result in sorted(self.chunks.items()) for row in result["accepted"]]

    def rejected(self) -> list[dict[str, Any]]:
        return [row for _, result in sorted(self.chunks.items()) for row in result["rejected"]]


def default_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.name + ".import-state.json")


def idempotency_key(state: ImportState, index: int) -> str:
    """Deterministic per file, chunk size and chunk: a retried chunk carries the same key."""
    return f"leadrouter-import-{state.file_sha256[:32]}-{state.chunk_size}-{index}"


def load(path: Path) -> ImportState | None:
    if not path.exists():
        return None
    try:
        return ImportState.from_json(json.loads(path.read_text()))
    except (ValueError, OSError) as exc:
        why = exc if isinstance(exc, StateProblem) else "it cannot be read as JSON"
        raise StateProblem(f"The state file {path} cannot be used: {why}. Delete it, or pass --restart to "
                           "import the whole file again (rows sent before would be sent twice).") from None


def save(path: Path, state: ImportState) -> None:
    """Replace the state file in one step, so an interruption leaves the old state or the new one."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state.to_json(), indent=1))
    os.replace(partial, path)


def start(stored: ImportState | None, *, file_sha256: str, chunk_size: int, restart: bool) -> ImportState:
    """The state to continue from: the stored one for this very file, else a fresh one (``--restart``: always)."""
    if stored is None or restart:
        return ImportState(file_sha256, chunk_size)
    if stored.file_sha256 != file_sha256:
        raise StateProblem("The file changed since part of it was imported (its state file belongs to another "
                           "version of it). Pass --restart to import the whole file again (rows sent before would "
                           "be sent twice), or --state to keep a separate state file.")
    return stored
