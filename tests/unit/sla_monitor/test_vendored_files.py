"""Every third-party file the console serves is listed in static/VENDORED.md, and is the file listed there."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[3] / "services" / "sla-monitor" / "sla_monitor" / "console" / "static"
OWN = {"console.js", "console.css", "reps.css", "reports.css", "reports.js"}  # the project's own


def _rows() -> dict[str, str | None]:
    """file name -> its recorded sha256 (None if the row has none)."""
    rows: dict[str, str | None] = {}
    for line in (STATIC / "VENDORED.md").read_text().splitlines():
        found = re.match(r"\|\s*`([^`]+)`\s*\|", line)
        if found:
            digest = re.search(r"`([0-9a-f]{64})`", line)
            rows[found.group(1)] = digest.group(1) if digest else None
    return rows


def test_every_vendored_file_is_listed_with_its_digest() -> None:
    rows = _rows()
    served = {p.name for p in STATIC.iterdir() if p.suffix in {".js", ".css", ".mjs"}} - OWN
    assert served <= set(rows), f"not listed in VENDORED.md: {sorted(served - set(rows))}"
    for name, digest in rows.items():
        assert (STATIC / name).is_file(), f"VENDORED.md lists {name}, which is not in static/"
        if digest is not None:
            assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
    assert rows["htmx.min.js"] is not None and rows["htmx-ext-sse.min.js"] is not None
