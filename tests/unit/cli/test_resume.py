"""The import's state file: what is skipped on a resume, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadrouter_cli import resume
from leadrouter_cli.chunks import split
from leadrouter_cli.importing import chunk_result
from leadrouter_cli.resume import ImportState, StateProblem


def test_a_recorded_state_comes_back_as_it_was_and_a_resume_continues_it(tmp_path: Path) -> None:
    path = tmp_path / "scans.csv.import-state.jsonl"
    state = ImportState("abc", 500)
    resume.begin(path, state)
    resume.record(path, state, 0, {"accepted": [{"row": 1, "lead_id": "l1", "duplicate_of": None}],
                                   "rejected": [{"row": 2, "line": 3, "errors": []}]})
    resume.record(path, state, 1, {"accepted": [], "rejected": []})
    loaded = resume.load(path)
    assert loaded == state and sorted(state.chunks) == [0, 1]
    assert resume.start(loaded, file_sha256="abc", chunk_size=100, restart=False) is loaded  # keeps its size
    assert not list(tmp_path.glob("*.partial"))


def test_a_last_line_cut_short_is_a_chunk_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    state = ImportState("abc", 2)
    resume.begin(path, state)
    resume.record(path, state, 0, {"accepted": [], "rejected": []})
    with path.open("a") as file:
        file.write('{"chunk": 1, "accepted": [{"row"')
    loaded = resume.load(path)
    assert loaded is not None and sorted(loaded.chunks) == [0]


def test_restart_or_no_state_starts_afresh_and_a_changed_file_is_refused() -> None:
    stored = ImportState("abc", 500, {0: {"accepted": [], "rejected": []}})
    assert resume.start(None, file_sha256="abc", chunk_size=50, restart=False) == ImportState("abc", 50)
    assert resume.start(stored, file_sha256="abc", chunk_size=50, restart=True) == ImportState("abc", 50)
    with pytest.raises(StateProblem, match="file changed"):
        resume.start(stored, file_sha256="def", chunk_size=500, restart=False)


@pytest.mark.parametrize("content", [
    "{not json",
    '{"version": 99}',
    '{"version": 1, "chunks": 3}',
    '{"version": 1, "file_sha256": "a", "chunk_size": 2}\n{oops\n{"chunk": 1, "accepted": [], "rejected": []}',
])
def test_a_damaged_state_file_is_refused_with_what_to_do(tmp_path: Path, content: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(StateProblem, match="--restart"):
        resume.load(path)


def test_the_idempotency_key_is_the_same_for_the_same_chunk_only() -> None:
    state = ImportState("a" * 64, 500)
    assert resume.idempotency_key(state, 3) == resume.idempotency_key(ImportState("a" * 64, 500), 3)
    assert len({resume.idempotency_key(state, 3), resume.idempotency_key(state, 4),
                resume.idempotency_key(ImportState("a" * 64, 200), 3)}) == 3


def test_intakes_row_numbers_become_the_files_and_only_field_and_message_are_kept() -> None:
    chunks = split(b"email,source\n" + b"".join(b"r%d@x.io,badge_scan\n" % i for i in range(5)), 2)
    answer = {"accepted": [{"row": 2, "lead_id": "lead-9", "duplicate_of": None}],
              "rejected": [{"row": 1, "errors": [{"field": "email", "message": "is not an email address",
                                                  "input": "r2@x.io"}]}]}
    result = chunk_result(chunks[1], answer)
    assert result == {"accepted": [{"row": 4, "lead_id": "lead-9", "duplicate_of": None}],
                      "rejected": [{"row": 3, "line": 4, "errors": [{"field": "email",
                                                                     "message": "is not an email address"}]}]}
