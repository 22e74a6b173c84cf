"""Speed under load (issue 11): the whole stack as ``make run`` starts it, leads offered at steady rates from
another process, every stage timed from Kafka record timestamps, the alert path to a local subscriber, and a
raw Kafka round trip on the same broker as the yardstick.

``make bench BENCH=load`` (``RATES=20,50,100,200``, ``SECONDS=30``, ``ALERTS=300``, ``DATABASE=sqlite|postgres``,
``GRACE=30``, ``ALERT_WINDOW``, ``ALERT_RATE=100``, ``BASELINE_SECONDS``). Each rate, and then the alert path,
runs in a fresh stack (new broker, new databases), so one rate's backlog never weighs on the next. The run is
appended to ``bench/results.json``; ``python -m benchmarks.load --table`` prints the README table from it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load_measure import (
    Tail,
    TimedReader,
    clock_facts,
    kafka_baseline,
    sample_lag,
    seconds,
    stats,
)
from benchmarks.load_report import append_result, machine, print_summary, readme_table
from benchmarks.load_stack import ADMIN_TOKEN, API_KEY, Stack, StackFailed, running_stack
from devstack.broker import free_port, wait_for_port
from devstack.stack import ROOT, child_env, die_with_parent, spawn, stop_all
from shared import topics
from shared.logging import configure_logging

ROUTING = """
teams:
  - id: na
    strategy: round_robin
    reps: [{id: rep-a}, {id: rep-b}, {id: rep-c}, {id: rep-d}]
rules:
  - {id: us-demo, priority: 10, match: {country: [US]}, team: na, urgency: warm}
  - {id: de-demo, priority: 20, match: {country: [DE]}, team: na, urgency: hot}
fallback: {team: na, urgency: warm}
"""

POLICIES = """
policies:
  hot: {{first_response: {window}, clock_starts: captured}}
  warm: {{first_response: 24h}}
  cold: {{first_response: 72h}}
"""


def _setting(name: str, default: str) -> str:
    return os.environ.get(name) or os.environ.get(f"BENCH_{name}") or default


def settings() -> dict[str, Any]:
    alerts = int(_setting("ALERTS", "300"))
    alert_rate = float(_setting("ALERT_RATE", "100"))
    duration = float(_setting("SECONDS", "30"))
    database = _setting("DATABASE", "sqlite").lower()
    history = int(_setting("HISTORY", "0"))
    if database not in ("sqlite", "postgres"):
        raise SystemExit(f"DATABASE={database!r} is not known; use DATABASE=sqlite (the default) or DATABASE=postgres.")
    return {
        "rates": [float(r) for r in _setting("RATES", "20,50,100,200").split(",") if r.strip()],
        "seconds": duration, "grace": float(_setting("GRACE", "30")), "alerts": alerts, "alert_rate": alert_rate,
        # Long enough for every alert lead to be posted, routed and clocked before its window ends.
        "alert_window": int(float(_setting("ALERT_WINDOW", str(max(30, int(3 * alerts / alert_rate) + 15))))),
        "baseline_seconds": float(_setting("BASELINE_SECONDS", str(min(duration, 10.0)))),
        "database": database,
        #: Rows of the badge-scan CSV posted to /v1/leads/batch (0: no CSV phase).
        "csv_rows": int(_setting("CSV", "5000")),
        #: Leads already stored in every service before each stack starts, and how many of them are still
        #: open (assignment untouched, clock running); ``benchmarks.load_history``.
        "history": history,
        "open": int(_setting("OPEN", str(history // 10))),
    }


async def _generate(url: str, rate: float, duration: float, out: Path, *extra: str) -> list[list[Any]]:
    """Run the load generator process; its records (``[n, due, started, ended, status, lead_id]``)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.load_generator", "--url", url, "--rate", str(rate), "--seconds",
        str(duration), "--out", str(out), "--api-key", API_KEY, *extra, env=child_env(), cwd=ROOT,
        preexec_fn=die_with_parent)
    try:
        code = await asyncio.wait_for(process.wait(), timeout=duration + 300)
    except TimeoutError:
        raise RuntimeError(f"The load generator did not finish within {duration + 300:.0f}s.") from None
    finally:
        if process.returncode is None:  # timed out, or we are interrupted: it stops with us
            process.kill()
            await process.wait()
    if code != 0:
        raise RuntimeError(f"The load generator exited with code {code}.")
    records: list[list[Any]] = json.loads(await asyncio.to_thread(out.read_text))
    return records


def _backlog(due: list[float], assigned: list[float], at: float) -> int:
    return sum(1 for t in due if t <= at) - sum(1 for t in assigned if t <= at)


async def measure_rate(stack: Stack, rate: float, config: dict[str, Any], tmp: Path) -> dict[str, Any]:
    duration, grace = config["seconds"], config["grace"]
    baseline = await kafka_baseline(stack.kafka, rate=rate, duration=config["baseline_seconds"])
    lag: list[tuple[float, int | None]] = []
    sampler = asyncio.create_task(sample_lag(stack.kafka, "router", topics.LEADS_RECEIVED, lag))
    tail = Tail(stack.kafka, topics.LEADS_RECEIVED, topics.LEADS_ASSIGNED)
    following = asyncio.create_task(tail.run())
    try:
        records = await _generate(stack.urls["intake"], rate, duration, tmp / f"offered-{rate:g}.json",
                                  "--prefix", f"r{rate:g}-")
    except BaseException:
        following.cancel()
        sampler.cancel()
        raise
    first_due, last_due = records[0][1], max(r[1] for r in records)
    answered = {r[5]: r for r in records if r[5]}
    statuses: dict[str, int] = {}
    for r in records:
        statuses[str(r[4])] = statuses.get(str(r[4]), 0) + 1
    deadline = last_due + grace
    try:
        async with TimedReader(stack.kafka, topics.LEADS_RECEIVED, topics.LEADS_ASSIGNED) as reader:
            await reader.until(lambda r: answered.keys() <= r.first[topics.LEADS_ASSIGNED].keys(),
                               deadline=deadline)
    finally:
        following.cancel()
        sampler.cancel()  # sampled until everything was read back: the backlog after the offer shows too
    received, assigned = reader.first[topics.LEADS_RECEIVED], reader.first[topics.LEADS_ASSIGNED]
    facts = await _clocks(stack, set(assigned) & answered.keys())

    stages: dict[str, list[float]] = {k: [] for k in ("post", "outbox_to_kafka", "kafka_to_decision",
                                                      "decision_to_kafka", "kafka_to_clock", "post_to_assigned",
                                                      "post_to_clock", "received_send_to_readable",
                                                      "assigned_send_to_readable", "readable_to_decision")}
    seen_received, seen_assigned = tail.seen[topics.LEADS_RECEIVED], tail.seen[topics.LEADS_ASSIGNED]
    for lead_id, (_, due, _, ended, _, _) in answered.items():
        stages["post"].append(ended - due)
        got, done = received.get(lead_id), assigned.get(lead_id)
        received_at = seconds(got.event.data.get("received_at")) if got else None
        assigned_at = seconds(done.event.data.get("assigned_at")) if done else None
        if got and received_at:
            stages["outbox_to_kafka"].append(got.at - received_at)
        if got and assigned_at:
            stages["kafka_to_decision"].append(assigned_at - got.at)
        if got and lead_id in seen_received:
            stages["received_send_to_readable"].append(seen_received[lead_id] - got.at)
            if assigned_at:
                stages["readable_to_decision"].append(assigned_at - seen_received[lead_id])
        if done and lead_id in seen_assigned:
            stages["assigned_send_to_readable"].append(seen_assigned[lead_id] - done.at)
        if done and assigned_at:
            stages["decision_to_kafka"].append(done.at - assigned_at)
        if done:
            stages["post_to_assigned"].append(done.at - due)
        started = (facts.get(lead_id) or {}).get("started")
        if done and started:
            stages["kafka_to_clock"].append(started - done.at)
            stages["post_to_clock"].append(started - due)
    in_time = [i for i in answered if i in assigned and assigned[i].at <= last_due + grace]
    dues = [r[1] for r in records]
    on_kafka = [received[i].at for i in answered if i in received]
    decided = [t for i in answered if i in assigned and (t := seconds(assigned[i].event.data.get("assigned_at")))]
    assigned_times = [assigned[i].at for i in answered if i in assigned]
    mid, end = first_due + (last_due - first_due) / 2, last_due
    lag_known = [(t, v) for t, v in lag if v is not None]
    last_answer = max(r[3] for r in records)
    result = {
        "offered_per_s": rate, "seconds": duration, "offered": len(records), "accepted": len(answered),
        "statuses": statuses,
        "achieved_per_s": round(len(answered) / max(1e-9, last_answer - first_due), 1),
        "assigned_per_s": round(len(assigned_times) / max(1e-9, max(assigned_times, default=first_due) - first_due),
                                1),
        "generator_late": stats([r[2] - r[1] for r in records]),
        **{name: stats(values) for name, values in stages.items()},
        "assigned_in_time_pct": round(100 * len(in_time) / max(1, len(answered)), 1),
        "assigned_total": len([i for i in answered if i in assigned]), "clocks": len(facts),
        "backlog_posted_minus_assigned": {"mid": _backlog(dues, assigned_times, mid),
                                          "end": _backlog(dues, assigned_times, end)},
        # Leads on leads.received (record timestamp) that the router has not decided yet (assigned_at).
        "backlog_on_kafka_undecided": {"mid": _backlog(on_kafka, decided, mid),
                                       "end": _backlog(on_kafka, decided, end),
                                       "max": max((_backlog(on_kafka, decided, first_due + k / 2)
                                                   for k in range(int(2 * (max(decided, default=end) - first_due))
                                                                  + 1)), default=0)},
        "router_lag": {"mid": _nearest(lag_known, mid), "end": _nearest(lag_known, end),
                       "max": max((v for _, v in lag_known), default=None)},
        "kafka_baseline": baseline,
    }
    p99, raw = result["post_to_assigned"]["p99_ms"], baseline["p99_ms"]
    result["ratio_post_to_assigned_p99_to_kafka_p99"] = round(p99 / raw, 1) if p99 and raw else None
    result["service_logs"] = stack.log_problems()
    return result


def _nearest(samples: list[tuple[float, int]], at: float) -> int | None:
    return min(samples, key=lambda s: abs(s[0] - at))[1] if samples else None


async def _clocks(stack: Stack, lead_ids: set[str], timeout: float = 15.0) -> dict[str, dict[str, Any]]:
    """The clocks of ``lead_ids``, waiting (boundedly) for the monitor to start the last of them."""
    deadline = time.monotonic() + timeout
    while True:
        facts = await clock_facts(stack.database_urls["sla-monitor"], lead_ids)
        if len(facts) >= len(lead_ids) or time.monotonic() > deadline:
            return facts
        await asyncio.sleep(1)


async def measure_alerts(stack: Stack, subscriber: str, config: dict[str, Any], tmp: Path) -> dict[str, Any]:
    count, window = config["alerts"], config["alert_window"]
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(stack.urls["sla-monitor"] + "/v1/subscriptions",
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                                 json={"url": subscriber + "/", "events": ["sla.breached"]})
        if answer.status_code != 201:
            raise RuntimeError(f"Subscribing the local receiver failed ({answer.status_code}): {answer.text}")
        captured = time.time()  # windows end at captured + window + [0, 1) s
        records = await _generate(stack.urls["intake"], config["alert_rate"], count / config["alert_rate"],
                                  tmp / "alerts.json", "--prefix", "alert-", "--country", "DE",
                                  "--captured-at", str(captured), "--captured-spread", "1")
        lead_ids = {r[5] for r in records if r[5]}
        deadline = captured + window + 1 + config["grace"] * 2
        arrivals: dict[str, list[Any]] = {}
        repeats = 0
        while time.time() < deadline:
            got = (await http.get(subscriber + "/_arrivals")).json()
            arrivals, repeats = got["arrivals"], got["repeats"]
            if lead_ids <= arrivals.keys():
                break
            await asyncio.sleep(1)
    async with TimedReader(stack.kafka, topics.SLA_ALERTS) as reader:
        await reader.until(lambda r: lead_ids <= r.by_type.get("sla.breached", {}).keys(), deadline=time.time() + 5)
    on_kafka = reader.by_type.get("sla.breached", {})
    facts = await clock_facts(stack.database_urls["sla-monitor"], lead_ids)
    lateness = [a[0] - d for i, a in arrivals.items() if i in lead_ids and (d := seconds(a[2])) is not None]
    fired = [f["fired"] - f["due"] for f in facts.values() if f["fired"] and f["due"]]
    kafka = [on_kafka[i].at - f["due"] for i, f in facts.items() if i in on_kafka and f["due"]]
    arrived = sorted(a[0] for i, a in arrivals.items() if i in lead_ids)
    dues = sorted(f["due"] for f in facts.values() if f["due"])
    return {
        "alerts": count, "accepted": len(lead_ids), "window_s": window, "clocks": len(facts),
        "clocks_started_after_due": sum(1 for f in facts.values() if f["started"] and f["due"]
                                        and f["started"] > f["due"]),
        "due_spread_s": round(dues[-1] - dues[0], 2) if dues else None,
        "received": len(arrived), "missing": len(lead_ids - arrivals.keys()), "repeats": repeats,
        "due_to_received": stats(lateness), "due_to_fired": stats(fired), "due_to_kafka": stats(kafka),
        "deliveries_per_s": round(len(arrived) / max(1e-9, arrived[-1] - dues[0]), 1) if arrived and dues else None,
        "service_logs": stack.log_problems(),
    }


def _run_alerts(config: dict[str, Any], tmp: Path) -> dict[str, Any]:
    port = free_port()
    receiver = spawn([sys.executable, "-m", "benchmarks.load_subscriber", str(port)], child_env())
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        policies = POLICIES.format(window=config["alert_window"])
        with running_stack(tmp=tmp, label="alerts", database=config["database"], routing=ROUTING,
                           before_start=_history(config),
                           policies=policies) as stack:
            return asyncio.run(measure_alerts(stack, f"http://127.0.0.1:{port}", config, tmp))
    finally:
        stop_all([receiver])


async def measure_csv(stack: Stack, rows: int) -> dict[str, Any]:
    """One badge-scan CSV of ``rows`` rows posted at once: how long until every lead of it has a running
    clock (routed and clocked), from the start of the POST."""
    lines = ["email,first_name,company,country,source"] + [
        f"badge{n}@expo.example.com,N{n},Co {n % 300},US,badge_scan" for n in range(rows)]
    started = time.time()
    async with httpx.AsyncClient(timeout=300) as http:
        answer = await http.post(stack.urls["intake"] + "/v1/leads/batch", content=("\n".join(lines) + "\n").encode(),
                                 headers={"X-API-Key": API_KEY, "Content-Type": "text/csv"})
    posted = time.time()
    answer.raise_for_status()
    ids = {row["lead_id"] for row in answer.json()["accepted"]}
    facts: dict[str, dict[str, Any]] = {}
    while time.time() - started < 300:
        facts = await clock_facts(stack.database_urls["sla-monitor"], ids)
        if len(facts) >= len(ids):
            break
        await asyncio.sleep(0.5)
    clocked = [f["started"] for f in facts.values() if f.get("started")]
    return {"rows": rows, "accepted": len(ids), "post_seconds": round(posted - started, 2),
            "clocked": len(clocked),
            "all_clocked_seconds": round(max(clocked) - started, 2) if len(clocked) == len(ids) else None}


def _history(config: dict[str, Any]) -> Callable[[Stack], None] | None:
    """Store ``HISTORY`` leads (``OPEN`` of them open) in the stack's databases before it starts."""
    if not config["history"]:
        return None

    def seed_history(stack: Stack) -> None:
        from benchmarks.load_history import seed
        print(f"load: storing a history of {config['history']} leads ({config['open']} open) …", flush=True)
        done = asyncio.run(seed(stack.database_urls, leads=config["history"], open_leads=config["open"],
                                policies=POLICIES.format(window="30m"), now=datetime.now(UTC)))
        print(f"load: history stored in {done['seed_seconds']} s", flush=True)

    return seed_history


def main() -> dict[str, Any]:
    configure_logging("loadbench", "WARNING")
    config = settings()
    print(f"load: rates {config['rates']} for {config['seconds']:g}s each, {config['alerts']} alerts, "
          f"database {config['database']}; a fresh stack per rate and for the alerts.", flush=True)
    record: dict[str, Any] = {**machine(), "database": config["database"], "settings": config, "rates": []}
    with tempfile.TemporaryDirectory(prefix="loadbench-") as folder:
        tmp = Path(folder)
        try:
            for rate in config["rates"]:
                print(f"load: {rate:g} leads/s …", flush=True)
                with running_stack(tmp=tmp, label=f"r{rate:g}", database=config["database"], routing=ROUTING,
                           before_start=_history(config),
                                   policies=POLICIES.format(window="30m")) as stack:
                    record["rates"].append(asyncio.run(measure_rate(stack, rate, config, tmp)))
            if config["csv_rows"]:
                print(f"load: a {config['csv_rows']}-row badge CSV …", flush=True)
                with running_stack(tmp=tmp, label="csv", database=config["database"], routing=ROUTING,
                           before_start=_history(config),
                                   policies=POLICIES.format(window="30m")) as stack:
                    record["csv"] = asyncio.run(measure_csv(stack, config["csv_rows"]))
                print(f"CSV: {record['csv']['accepted']} of {record['csv']['rows']} rows accepted in "
                      f"{record['csv']['post_seconds']} s; every lead routed and clocked "
                      f"{record['csv']['all_clocked_seconds']} s after the POST started.", flush=True)
            if config["alerts"]:
                print(f"load: {config['alerts']} alerts due within one second …", flush=True)
                record["alerts"] = _run_alerts(config, tmp)
        except (StackFailed, RuntimeError, TimeoutError) as exc:  # the figures so far are still worth keeping
            print(f"load: stopped: {exc}", file=sys.stderr)
            record["error"] = str(exc)
    path = append_result(record)
    print_summary(record)
    print(f"load: appended to {path}", flush=True)
    return record


if __name__ == "__main__":
    if sys.argv[1:2] == ["--table"]:
        print(readme_table())
    else:
        main()
