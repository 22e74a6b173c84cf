"""``leadrouter import FILE.csv``: a badge-scan or list upload to intake, in chunks, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from leadrouter_cli import resume
from leadrouter_cli.api import Api, ApiError
from leadrouter_cli.chunks import Chunk, CsvProblem, file_digest, split
from leadrouter_cli.console import err, fail, out, text
from leadrouter_cli.resume import ImportState, StateProblem

#: Exit status of an import that finished but where intake rejected rows (0: all accepted, 1: not finished).
EXIT_REJECTED = 3
MAX_REJECTED_SHOWN = 200


def rows_label(chunk: Chunk) -> str:
    return f"row {chunk.first_row}" if chunk.rows == 1 else f"rows {chunk.first_row}–{chunk.last_row}"


def chunk_result(chunk: Chunk, answer: Any) -> dict[str, list[dict[str, Any]]]:
    """Intake's answer for one chunk, with the file's row numbers instead of the chunk's."""
    if not isinstance(answer, dict):
        raise ApiError(f"intake's answer to chunk {chunk.index + 1} is not the batch answer it should be.")
    accepted = [{"row": chunk.file_row(int(a["row"])), "lead_id": a.get("lead_id"),
                 "duplicate_of": a.get("duplicate_of")} for a in answer.get("accepted", ())]
    rejected = [{"row": chunk.file_row(int(r["row"])), "line": chunk.file_line(int(r["row"])),
                 "errors": [{"field": str(e.get("field", "row")), "message": str(e.get("message", "is invalid"))}
                            for e in r.get("errors", ()) if isinstance(e, dict)]}
                for r in answer.get("rejected", ())]
    return {"accepted": accepted, "rejected": rejected}


def rejected_table(rejected: list[dict[str, Any]], *, limit: int = MAX_REJECTED_SHOWN) -> Table:
    """One line per problem: the row, its line in the file, the field and intake's reason (never the value)."""
    table = Table(title=f"Rejected rows ({len(rejected)})", title_justify="left")
    for column in ("Row", "Line", "Field", "Problem"):
        table.add_column(column, justify="right" if column in {"Row", "Line"} else "left")
    for entry in rejected[:limit]:
        errors = entry["errors"] or [{"field": "row", "message": "rejected"}]
        for number, error in enumerate(errors):
            first = number == 0
            table.add_row(str(entry["row"]) if first else "", str(entry["line"]) if first else "",
                          text(error["field"]), text(error["message"]))
    if len(rejected) > limit:
        table.caption = f"… and {len(rejected) - limit} more rows; the state file lists them all."
    return table


def summary(state: ImportState, *, total_rows: int, sent_now: int, skipped: int) -> str:
    accepted = state.accepted()
    duplicates = sum(1 for a in accepted if a.get("duplicate_of"))
    parts = [f"{total_rows} rows: {len(accepted)} accepted"]
    if duplicates:
        parts.append(f" ({duplicates} marked as duplicates of earlier leads)")
    parts.append(f", {len(state.rejected())} rejected. Chunks: {sent_now} sent now")
    if skipped:
        parts.append(f", {skipped} already imported before (skipped)")
    return "".join(parts) + "."


def _post_chunk(api: Api, state: ImportState, chunk: Chunk) -> Any:
    try:
        return api.post("intake", "/v1/leads/batch", content=chunk.body,
                        headers={"Content-Type": "text/csv; charset=utf-8",
                                 # Intake's batch endpoint does not honour it (yet); the state file is what keeps
                                 # a resumed import from sending a chunk twice.
                                 "Idempotency-Key": resume.idempotency_key(state, chunk.index)})
    except ApiError as exc:
        hint = " Use a smaller --chunk." if exc.status_code == 413 else ""
        raise ApiError(f"Chunk {chunk.index + 1} ({rows_label(chunk)}) was not imported. "
                       f"{exc}{hint}", status_code=exc.status_code) from None


def import_leads(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV to import.")],
    chunk: Annotated[int, typer.Option(min=1, max=5000, help="Rows per request (intake takes up to 5,000).")] = 500,
    state_file: Annotated[Path | None, typer.Option(
        "--state", help="Where to keep track of the chunks done (default: next to the file).")] = None,
    restart: Annotated[bool, typer.Option(help="Ignore the state file and import the whole file again.")] = False,
) -> None:
    """Post a CSV of leads (badge scans, lists) to intake in chunks; list the rejected rows.

    Interrupted? Run the same command again: chunks already acknowledged are not sent again (--restart sends the
    whole file). Exit status: 0 all rows accepted, 3 finished with rejected rows, 1 not finished.
    """
    if not ctx.obj.api_key:
        fail("Importing needs an intake API key: pass --api-key or set LEADROUTER_API_KEY.")
    data = file.read_bytes()
    path = state_file or resume.default_path(file)
    try:
        stored = resume.load(path)
        state = resume.start(stored, file_sha256=file_digest(data), chunk_size=chunk, restart=restart)
        if state.chunk_size != chunk:
            err.print(f"Resuming with --chunk {state.chunk_size}, the chunk size this import started with.")
        chunks = split(data, state.chunk_size)
    except (CsvProblem, StateProblem) as exc:
        fail(str(exc))
    if not chunks:
        fail(f"{file} has a header row but no rows of leads.")
    if state is not stored:
        try:
            resume.begin(path, state)
        except OSError as exc:
            fail(f"Cannot write the state file {path} ({exc.strerror}); pass --state with a writable place.")
    total_rows = sum(c.rows for c in chunks)
    skipped = sum(1 for c in chunks if c.index in state.chunks)
    if skipped:
        err.print(f"Resuming: {skipped} of {len(chunks)} chunks were imported before and are not sent again.")
    sent = 0
    with Api(ctx.obj, timeout=120) as api, Progress(
            TextColumn("[bold]Importing[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("rows"), TimeElapsedColumn(), console=err) as progress:
        task = progress.add_task(file.name, total=total_rows,
                                 completed=sum(c.rows for c in chunks if c.index in state.chunks))
        try:
            for current in chunks:
                if current.index in state.chunks:
                    continue
                resume.record(path, state, current.index, chunk_result(current, _post_chunk(api, state, current)))
                sent += 1
                progress.advance(task, current.rows)
                if not err.is_terminal:  # a log has no live bar: one line per chunk instead
                    result = state.chunks[current.index]
                    progress.console.print(f"chunk {current.index + 1}/{len(chunks)}: {rows_label(current)}: "
                                           f"{len(result['accepted'])} accepted, {len(result['rejected'])} rejected")
        except OSError as exc:
            progress.stop()
            fail(f"Cannot write the state file {path} ({exc.strerror}). The last chunk sent may be imported but not "
                 "recorded: a resume would send it again.")
        except (ApiError, KeyboardInterrupt) as exc:
            progress.stop()
            done = len(state.chunks)
            why = "Interrupted." if isinstance(exc, KeyboardInterrupt) else str(exc)
            where = f" (recorded in {path})" if done else ""
            fail(f"{why}\n{done} of {len(chunks)} chunks are imported{where}; run the same command again to import "
                 "the rest.", code=130 if isinstance(exc, KeyboardInterrupt) else 1)
    rejected = state.rejected()
    if rejected:
        out.print(rejected_table(rejected))
    out.print(summary(state, total_rows=total_rows, sent_now=sent, skipped=skipped))
    if rejected:
        raise typer.Exit(EXIT_REJECTED)
