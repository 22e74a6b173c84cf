"""Where the load benchmark's figures go: ``bench/results.json`` (one record appended per run), a compact
table on the terminal, and the README table regenerated from the stored runs."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack.stack import ROOT

RESULTS = ROOT / "bench" / "results.json"


def machine() -> dict[str, Any]:
    """When, where and on which commit the run happened."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                    capture_output=True, text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"uname": " ".join(platform.uname()), "nproc": os.cpu_count(),
                        "python": sys.version.split()[0]},
            "commit": commit, "dirty": dirty}


def load_results(path: Path = RESULTS) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    runs: list[dict[str, Any]] = json.loads(path.read_text())
    return runs


def append_result(record: dict[str, Any], path: Path = RESULTS) -> Path:
    runs = load_results(path)
    runs.append(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(runs, indent=1, default=str) + "\n")
    return path


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _pair(figures: dict[str, Any]) -> str:
    return f"{_ms(figures.get('p50_ms'))} / {_ms(figures.get('p99_ms'))}"


def _rate(r: dict[str, Any]) -> str:
    return f"{r['offered_per_s']:g}/s ({r['achieved_per_s']:g} achieved)"


def headline_rows(run: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in run.get("rates", []):
        backlog, lag = r["backlog_posted_minus_assigned"], r["router_lag"]
        rows.append([
            _rate(r), _pair(r["post"]), _pair(r["post_to_assigned"]), _pair(r["post_to_clock"]),
            f"{r['assigned_in_time_pct']:g}%",
            f"{backlog['mid']} → {backlog['end']}" + (f" (router lag {lag['mid']} → {lag['end']}, max {lag['max']})"
                                                      if lag["end"] is not None else ""),
            f"{_ms(r['kafka_baseline']['p99_ms'])} (×{r['ratio_post_to_assigned_p99_to_kafka_p99']})",
        ])
    return rows


def stage_rows(run: dict[str, Any]) -> list[list[str]]:
    return [[_rate(r), _pair(r["outbox_to_kafka"]), _pair(r["kafka_to_decision"]), _pair(r["decision_to_kafka"]),
             _pair(r["kafka_to_clock"]), _pair(r.get("received_send_to_readable", {})),
             _pair(r.get("assigned_send_to_readable", {})), _ms(r["generator_late"]["p99_ms"])]
            for r in run.get("rates", [])]


HEADLINE = ["offered rate", "POST p50 / p99", "POST → `lead.assigned` p50 / p99", "POST → clock running p50 / p99",
            "assigned in time", "backlog mid → end of offer", "raw Kafka p99 (ratio)"]
STAGES = ["offered rate", "intake outbox → Kafka", "Kafka → router decision", "decision → Kafka",
          "Kafka → clock running", "intake send → readable", "router send → readable", "generator late p99"]


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def alert_line(run: dict[str, Any]) -> str:
    a = run.get("alerts")
    if not a:
        return ""
    return (f"Alerts: {a['accepted']} hot leads due within {a['due_spread_s']} s, untouched: due → received by the "
            f"subscriber p50 {_ms(a['due_to_received']['p50_ms'])}, p99 {_ms(a['due_to_received']['p99_ms'])}, "
            f"max {_ms(a['due_to_received']['max_ms'])} ({a['received']} received, {a['missing']} missing, "
            f"{a['deliveries_per_s']} deliveries/s); ticker fired − due p50 {_ms(a['due_to_fired']['p50_ms'])}, "
            f"p99 {_ms(a['due_to_fired']['p99_ms'])}; on Kafka p99 {_ms(a['due_to_kafka']['p99_ms'])}.")


def print_summary(run: dict[str, Any]) -> None:
    print(f"\n{run['date']} {run['database']} commit {str(run.get('commit'))[:10]}"
          f" ({run['machine']['nproc']} cores, Python {run['machine']['python']})")
    print(_markdown(HEADLINE, headline_rows(run)))
    print("\nPer stage, p50 / p99:")
    print(_markdown(STAGES, stage_rows(run)))
    if run.get("alerts"):
        print(alert_line(run))
    if run.get("error"):
        print(f"Stopped early: {run['error']}")


def readme_table(path: Path = RESULTS) -> str:
    """The latest stored run of each database as the README's Markdown table (and its alert line)."""
    latest: dict[str, dict[str, Any]] = {}
    for run in load_results(path):
        latest[run["database"]] = run
    if not latest:
        return f"No runs in {path}; run `make bench BENCH=load` first."
    parts = []
    for database, run in sorted(latest.items()):
        s = run["settings"]
        parts.append(f"{database}, {run['date'][:10]}, commit {str(run.get('commit'))[:7]}, "
                     f"{run['machine']['nproc']} cores, {s['seconds']:g} s per rate:\n")
        parts.append(_markdown(HEADLINE, headline_rows(run)))
        parts.append("\nPer stage, p50 / p99:\n")
        parts.append(_markdown(STAGES, stage_rows(run)))
        if run.get("alerts"):
            parts.append("\n" + alert_line(run))
        parts.append("\n")
    return "\n".join(parts)
