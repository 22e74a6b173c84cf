"""The fault harness: a private PostgreSQL cluster, the embedded broker and the three services as real
processes (started as `make run` starts them), a webhook receiver, a load generator, poison, and the
accounting that says what was lost, doubled or dead-lettered.

A scenario is: ``async with FaultRun(...) as run:`` → ``await run.burst(fault=...)`` → ``await run.settle()``
→ ``report = await run.report()`` → ``report.print()`` and ``report.assert_nothing_lost_or_doubled()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from devstack.broker import free_port, start_broker
from devstack.stack import ROOT, SERVICES, child_env, start_service
from intake.signatures import sign
from shared import topics
from shared.events import LeadAssigned, SlaBreached, SlaMet

CREDENTIALS = {"INTAKE_API_KEYS": "faults:faults-key", "CRM_WEBHOOK_SECRET": "faults-secret",
               "ADMIN_TOKEN": "faults-admin"}
API_KEY = {"X-API-Key": "faults-key"}
ADMIN = {"Authorization": "Bearer faults-admin"}

#: Every lead goes to one team of reps without a capacity, hot, so nothing queues.
ROUTING = """teams:
  - id: faults-desk
    strategy: round_robin
    reps:
      - {id: rep-a, name: Rep A, email: a@example.com, timezone: UTC}
      - {id: rep-b, name: Rep B, email: b@example.com, timezone: UTC}
      - {id: rep-c, name: Rep C, email: c@example.com, timezone: UTC}
      - {id: rep-d, name: Rep D, email: d@example.com, timezone: UTC}
rules:
  - id: everything
    priority: 10
    match:
      intent: [demo_request]
    team: faults-desk
    urgency: hot
fallback: {team: faults-desk, urgency: hot}
ownership:
  lookback_days: 90
  match_company_domain: false
"""


def policies(first_response_seconds: int) -> str:
    """A short hot window so untouched leads breach inside the test; no escalation (one breach per lead)."""
    return (f"policies:\n  hot:  {{first_response: {first_response_seconds}s}}\n"
            "  warm: {first_response: 24h}\n  cold: {first_response: 72h}\n")


def wait_until(probe: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout:.0f}s waiting for {what}.")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------- PostgreSQL


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free port, ours alone to stop and start (never the shared one)."""

    def __init__(self) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) are not installed.")
        self._bin = bin_dir
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            if shutil.which("runuser") is None:
                raise RuntimeError("Running as root and `runuser` is missing: cannot run initdb as postgres.")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        self.root = Path(tempfile.mkdtemp(prefix="leadrouter-faults-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        command = [*self._as_postgres, str(self._bin / tool), *args]
        result = subprocess.run(command, capture_output=True, timeout=timeout, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stderr.decode(errors='replace')[-2000:]}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def connect(self, database: str = "postgres") -> Any:
        import asyncpg

        return await asyncpg.connect(user="postgres", host="127.0.0.1", port=self.port, database=database)

    async def create_database(self, name: str) -> str:
        conn = await self.connect()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    async def fetch(self, database: str, sql: str) -> list[Any]:
        conn = await self.connect(database)
        try:
            # Each service keeps its tables in its own schema (*_DATABASE_SCHEMA); older ones in public.
            await conn.execute("SET search_path TO router, sla_monitor, intake, public")
            return list(await conn.fetch(sql))
        finally:
            await conn.close()


# ------------------------------------------------------------------------------------------------ the stack


class Stack:
    """Broker + intake + router + sla-monitor as processes, each log appended to a file across restarts."""

    def __init__(self, workdir: Path, postgres: PrivatePostgres, *, first_response_seconds: int,
                 extra_env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.postgres = postgres
        self.first_response_seconds = first_response_seconds
        self.extra_env = extra_env or {}
        self.broker: subprocess.Popen[bytes] | None = None
        self.broker_port = free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.urls: dict[str, str] = {}
        self.databases: dict[str, str] = {}
        self.env: dict[str, str] = {}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "routing.yaml").write_text(ROUTING)
        (self.workdir / "sla-policies.yaml").write_text(policies(self.first_response_seconds))
        self.broker = await asyncio.to_thread(self._start_broker)
        env = child_env({
            **CREDENTIALS,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "ALLOW_PRIVATE_WEBHOOK_TARGETS": "true",
            "SLA_POLICIES_PATH": str(self.workdir / "sla-policies.yaml"),
            "ROUTING_CONFIG_PATH": str(self.workdir / "routing.yaml"),
            "LOG_LEVEL": "INFO",
            **self.extra_env,
        })
        suffix = uuid.uuid4().hex[:8]
        for service in SERVICES.values():
            database = f"faults_{service.name.replace('-', '_')}_{suffix}"
            env[service.database_env] = await self.postgres.create_database(database)
            self.databases[service.name] = database
            port = free_port()
            env[service.port_env] = str(port)
            self.urls[service.name] = f"http://127.0.0.1:{port}"
        self.env = env
        for service in SERVICES.values():
            await asyncio.to_thread(self._migrate, service.name)
        for name in SERVICES:
            await asyncio.to_thread(self.start_service, name)

    def _start_broker(self) -> subprocess.Popen[bytes]:
        with open(self.log_path("broker"), "ab") as out:
            return start_broker(self.broker_port, quiet=False, stdout=out, stderr=subprocess.STDOUT)

    def _migrate(self, name: str) -> None:
        with open(self.log_path(name), "ab") as out:
            subprocess.run([sys.executable, "-m", SERVICES[name].module, "migrate"], env=self.env, cwd=ROOT,
                           check=True, stdout=out, stderr=subprocess.STDOUT, timeout=120)

    def start_service(self, name: str) -> None:
        with open(self.log_path(name), "ab") as out:
            process = start_service(SERVICES[name], self.env, stdout=out, stderr=subprocess.STDOUT)
        self.processes[name] = process

        def healthy() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n"
                                   f"{self.log_path(name).read_text(errors='replace')[-3000:]}")
            try:
                return httpx.get(self.urls[name] + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=90, what=f"{name} to answer /healthz")

    def kill9(self, name: str) -> None:
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the service leads its own process group
        process.wait(timeout=30)

    def pause(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGCONT)

    def freeze_broker(self) -> None:
        assert self.broker is not None
        os.kill(self.broker.pid, signal.SIGSTOP)

    def thaw_broker(self) -> None:
        assert self.broker is not None
        os.kill(self.broker.pid, signal.SIGCONT)

    def alive(self) -> dict[str, bool]:
        answer = {}
        for name, process in self.processes.items():
            ok = process.poll() is None
            if ok:
                try:
                    ok = httpx.get(self.urls[name] + "/healthz", timeout=5).status_code == 200
                except httpx.HTTPError:
                    ok = False
            answer[name] = ok
        return answer

    def stop(self) -> None:
        if self.broker is not None and self.broker.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.broker.pid, signal.SIGCONT)
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGCONT)
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self.broker is not None:
            self.broker.terminate()
            try:
                self.broker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.broker.kill()
                self.broker.wait(timeout=10)

    def all_logs(self) -> dict[str, str]:
        return {p.stem: p.read_text(errors="replace") for p in sorted(self.workdir.glob("*.log"))}


# ------------------------------------------------------------------------------------- webhook receiver


class Receiver:
    """A local webhook endpoint (its own thread and loop) that keeps every delivery."""

    def __init__(self) -> None:
        import uvicorn

        self.deliveries: list[tuple[dict[str, str], dict[str, Any]]] = []
        self._lock = threading.Lock()
        app = Starlette(routes=[Route("/hooks/sla", self._receive, methods=["POST"])])
        self.port = free_port()
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                                     lifespan="off"))
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve()), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/sla"

    async def _receive(self, request: Request) -> Response:
        body = json.loads(await request.body())
        with self._lock:
            self.deliveries.append((dict(request.headers), body))
        return Response(status_code=204)

    def start(self) -> None:
        self._thread.start()
        wait_until(lambda: self._server.started, timeout=15, what="the webhook receiver")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def webhook_ids_by_lead(self, event_type: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        with self._lock:
            for headers, body in self.deliveries:
                if body.get("type") == event_type:
                    found[body["data"]["lead_id"]].add(headers.get("webhook-id", ""))
        return found


# ------------------------------------------------------------------------------------------------- Kafka


async def read_topic(bootstrap: str, topic: str, *, timeout: float = 60) -> list[Any]:
    """Every record of ``topic`` from the beginning up to its end offsets now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                fetch_max_wait_ms=50)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + timeout
        while not partitions:
            if time.monotonic() > deadline:
                return []
            await consumer._client.force_metadata_update()  # noqa: SLF001 - topic created lazily
            partitions = consumer.partitions_for_topic(topic)
            await asyncio.sleep(0.2)
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        records: list[Any] = []

        async def behind() -> bool:
            for tp in assigned:
                if await consumer.position(tp) < ends[tp]:
                    return True
            return False

        while await behind():
            if time.monotonic() > deadline:
                raise TimeoutError(f"Could not read {topic} to its end in {timeout:.0f}s.")
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


def decode(record: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(record.value)
    except (TypeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


DEEP = 50_000
POISON_VALUES: dict[str, bytes | None] = {
    "tombstone": None,
    "invalid-json": b'{"specversion": "1.0", "id": ',
    "deeply-nested": b"[" * DEEP + b"]" * DEEP,
}
POISONED_TOPICS = (topics.LEADS_RECEIVED, topics.LEADS_ASSIGNED, topics.LEADS_ACTIVITY, topics.SLA_ALERTS)


async def send_poison(bootstrap: str) -> list[str]:
    """One of each poison on every consumed topic; returns their keys (``poison-...``)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=2 * 1024 * 1024)
    await producer.start()
    keys = []
    try:
        for topic in POISONED_TOPICS:
            for kind, value in POISON_VALUES.items():
                key = f"poison-{topic}-{kind}"
                await producer.send_and_wait(topic, value=value, key=key.encode())
                keys.append(key)
    finally:
        await producer.stop()
    return keys


# ------------------------------------------------------------------------------------------- the traffic


def is_touched(lead_id: str) -> bool:
    """Half the leads get a prompt outbound call (decided by the id, so no bookkeeping races)."""
    return hashlib.sha256(lead_id.encode()).digest()[0] % 2 == 0


def lead_body(index: int, tag: str) -> dict[str, Any]:
    return {"first_name": "Fault", "last_name": f"Lead{index}", "email": f"{tag}-{index}@faults.example.com",
            "phone": f"+1 415 555 {index % 10000:04d}", "company": f"Faultco {index}", "country": "US",
            "industry": "fintech", "employees": 1200, "source": "web_form", "intent": "demo_request",
            "campaign": "faults"}


@dataclass
class Traffic:
    posted: dict[int, str] = field(default_factory=dict)  # index -> lead_id (202)
    refused: dict[int, str] = field(default_factory=dict)  # index -> last answer
    touches_sent: set[str] = field(default_factory=set)
    touch_failures: dict[str, str] = field(default_factory=dict)
    retries: int = 0


class FaultRun:
    """One scenario's stack, receiver, traffic and the numbers afterwards."""

    def __init__(self, name: str, workdir: Path, postgres: PrivatePostgres, *, leads: int = 500,
                 first_response_seconds: int = 20, touch_same_second: bool = False, touch_all: bool = False,
                 poison: bool = True, concurrency: int = 12, request_deadline: float = 180) -> None:
        self.name = name
        self.leads = leads
        self.stack = Stack(workdir, postgres, first_response_seconds=first_response_seconds)
        self.receiver = Receiver()
        self.traffic = Traffic()
        self.touch_same_second = touch_same_second
        self.touch_all = touch_all
        # FAULTS_NO_POISON=1 separates what a crash does from what the poison does, when diagnosing.
        self.poison = poison and not os.environ.get("FAULTS_NO_POISON")
        self.poison_keys: list[str] = []
        self.concurrency = concurrency
        self.request_deadline = request_deadline
        self.tag = uuid.uuid4().hex[:8]
        self._assigned_seen: dict[str, dict[str, Any]] = {}
        self._touch_tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self._stop_watch = asyncio.Event()

    async def __aenter__(self) -> FaultRun:
        try:
            await self.stack.start()
            self.receiver.start()
            self._http = httpx.AsyncClient(timeout=15)
            answer = await self._http.post(self.stack.urls["sla-monitor"] + "/v1/subscriptions", headers=ADMIN,
                                           json={"url": self.receiver.url, "events": ["sla.breached"]})
            assert answer.status_code == 201, answer.text
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop_watch.set()
        for task in list(self._touch_tasks):
            task.cancel()
        if self._http is not None:
            await self._http.aclose()
        await asyncio.to_thread(self.stack.stop)
        self.receiver.stop()

    # -- sending ------------------------------------------------------------------------------------------

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response | str:
        """Send until a non-5xx answer or the deadline, as a well-behaved client would (same body, same key)."""
        assert self._http is not None
        deadline = time.monotonic() + self.request_deadline
        last = ""
        while time.monotonic() < deadline:
            try:
                answer = await self._http.request(method, url, **kwargs)
                if answer.status_code < 500:
                    return answer
                last = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            self.traffic.retries += 1
            await asyncio.sleep(0.5)
        return last

    async def _post_lead(self, index: int) -> None:
        answer = await self._send("POST", self.stack.urls["intake"] + "/v1/leads", json=lead_body(index, self.tag),
                                  headers={**API_KEY, "Idempotency-Key": f"{self.tag}-{index}"})
        if isinstance(answer, httpx.Response) and answer.status_code == 202:
            self.traffic.posted[index] = str(answer.json()["lead_id"])
        else:
            refused = answer if isinstance(answer, str) else f"{answer.status_code} {answer.text[:200]}"
            self.traffic.refused[index] = refused

    async def _touch(self, lead_id: str, assigned: dict[str, Any]) -> None:
        if self.touch_same_second:
            # The CRM reports whole seconds: the call made in the assignment's second is dated at its start.
            occurred = datetime.fromisoformat(assigned["assigned_at"]).replace(microsecond=0)
        else:
            occurred = datetime.now(UTC)
        body = json.dumps({"activity_id": f"call-{lead_id}", "lead_id": lead_id, "type": "call",
                           "direction": "outbound", "rep_id": assigned.get("rep_id"),
                           "occurred_at": occurred.isoformat()}).encode()
        deadline = time.monotonic() + self.request_deadline
        last = ""
        while time.monotonic() < deadline:
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-Webhook-Timestamp": timestamp,
                       "X-Webhook-Signature": sign(CREDENTIALS["CRM_WEBHOOK_SECRET"], timestamp, body)}
            answer = await self._send("POST", self.stack.urls["intake"] + "/v1/activities", content=body,
                                      headers=headers)
            if isinstance(answer, httpx.Response):
                if answer.status_code == 202:
                    self.traffic.touches_sent.add(lead_id)
                    return
                last = f"{answer.status_code} {answer.text[:200]}"
                if answer.status_code != 401:  # a stale signature timestamp is worth another try
                    break
            else:
                last = answer
        self.traffic.touch_failures[lead_id] = last

    async def _watch_assignments(self) -> None:
        """Touch half the leads as soon as their assignment is on Kafka (the CRM calls them at once)."""
        while not self._stop_watch.is_set():
            consumer = AIOKafkaConsumer(topics.LEADS_ASSIGNED, bootstrap_servers=self.stack.bootstrap, group_id=None,
                                        auto_offset_reset="earliest", enable_auto_commit=False, fetch_max_wait_ms=50)
            try:
                await consumer.start()
                while not self._stop_watch.is_set():
                    for batch in (await consumer.getmany(timeout_ms=200)).values():
                        for record in batch:
                            event = decode(record)
                            if not event or event.get("type") != LeadAssigned.event_type:
                                continue
                            data = event.get("data") or {}
                            lead_id = str(event.get("subject") or data.get("lead_id"))
                            if lead_id in self._assigned_seen:
                                continue
                            self._assigned_seen[lead_id] = data
                            if (self.touch_all or is_touched(lead_id)) and data.get("rep_id"):
                                task = asyncio.create_task(self._touch(lead_id, data))
                                self._touch_tasks.add(task)
                                task.add_done_callback(self._touch_tasks.discard)
            except asyncio.CancelledError:
                raise
            except Exception:  # the broker may be frozen or away: start over, already-seen leads are skipped
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def burst(self, *, fault: Callable[[], Awaitable[None]] | None = None, fault_at: float = 0.4,
                    poison_at: float = 0.7) -> None:
        """Post the leads (bounded concurrency, retried with one Idempotency-Key each); ``fault`` once
        ``fault_at`` of them are out, the poison once ``poison_at`` are; touches follow the assignments."""
        watcher = asyncio.create_task(self._watch_assignments())
        self._touch_tasks.add(watcher)
        semaphore = asyncio.Semaphore(self.concurrency)
        fault_task: asyncio.Task[None] | None = None
        poison_task: asyncio.Task[list[str]] | None = None
        started = time.monotonic()

        async def one(index: int) -> None:
            async with semaphore:
                await self._post_lead(index)

        tasks = []
        for index in range(self.leads):
            if fault is not None and fault_task is None and index >= int(self.leads * fault_at):
                fault_task = asyncio.create_task(fault())
            if self.poison and poison_task is None and index >= int(self.leads * poison_at):
                poison_task = asyncio.create_task(send_poison(self.stack.bootstrap))
            tasks.append(asyncio.create_task(one(index)))
            await asyncio.sleep(0)
            if index % self.concurrency == 0:
                await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
        if fault_task is not None:
            await fault_task
        if poison_task is not None:
            self.poison_keys = await poison_task
        print(f"[{self.name}] burst of {self.leads} done in {time.monotonic() - started:.1f}s "  # noqa: T201
              f"({len(self.traffic.posted)} accepted, {self.traffic.retries} retried requests)")

    async def settle(self, *, timeout: float = 240, stalled_after: float = 60) -> None:
        """Wait until every accepted lead is assigned, its clock resolved and its breach delivered; give up
        after ``timeout``, or once nothing has moved for ``stalled_after`` seconds (a stuck pipeline stays
        stuck; the report then says what is missing). A few seconds more so repeats have a chance to show."""
        deadline = time.monotonic() + timeout
        last: dict[str, int] | None = None
        last_change = time.monotonic()
        while True:
            snapshot = await self._snapshot()
            if snapshot is not None and not snapshot:
                break
            if snapshot != last:
                last, last_change = snapshot, time.monotonic()
            now = time.monotonic()
            if now > deadline or now - last_change > stalled_after:
                print(f"[{self.name}] gave up waiting after {timeout - (deadline - now):.0f}s, "  # noqa: T201
                      f"still missing: {snapshot}")
                break
            await asyncio.sleep(2)
        await asyncio.sleep(5)
        self._stop_watch.set()
        pending = [t for t in self._touch_tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=15)

    async def _snapshot(self) -> dict[str, int] | None:
        """What is still missing (empty when everything is done)."""
        try:
            alerts = await read_topic(self.stack.bootstrap, topics.SLA_ALERTS, timeout=20)
        except Exception:
            return None
        leads = set(self.traffic.posted.values())
        resolved = set()
        breached = set()
        for record in alerts:
            event = decode(record)
            if event and event.get("type") in (SlaMet.event_type, SlaBreached.event_type):
                resolved.add(str(event.get("subject")))
                if event["type"] == SlaBreached.event_type:
                    breached.add(str(event.get("subject")))
        delivered = set(self.receiver.webhook_ids_by_lead(SlaBreached.event_type))
        missing = {
            "unassigned": len(leads - set(self._assigned_seen)),
            "unresolved": len(leads - resolved),
            "undelivered": len((breached & leads) - delivered),
            "touches_in_flight": len([t for t in self._touch_tasks if not t.done()]) - 1,
        }
        return {k: v for k, v in missing.items() if v > 0}

    # -- the numbers --------------------------------------------------------------------------------------

    async def report(self) -> Report:
        bootstrap = self.stack.bootstrap
        leads = set(self.traffic.posted.values())
        assigned_ids: dict[str, set[str]] = defaultdict(set)
        for record in await read_topic(bootstrap, topics.LEADS_ASSIGNED):
            event = decode(record)
            if event and event.get("type") == LeadAssigned.event_type and \
                    (event.get("data") or {}).get("reason", "initial") == "initial":
                assigned_ids[str(event.get("subject"))].add(str(event.get("id")))
        outcomes: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for record in await read_topic(bootstrap, topics.SLA_ALERTS):
            event = decode(record)
            if event and event.get("type") in (SlaMet.event_type, SlaBreached.event_type):
                outcomes[str(event.get("subject"))].add((str(event["type"]), str(event.get("id"))))
        router_db = self.stack.databases["router"]
        rows = await self.stack.postgres.fetch(
            router_db, "SELECT lead_id, count(*) AS n FROM assignments WHERE reason = 'initial' GROUP BY lead_id")
        db_assigned = {r["lead_id"]: int(r["n"]) for r in rows}
        clock_rows = await self.stack.postgres.fetch(
            self.stack.databases["sla-monitor"], "SELECT lead_id, state FROM clocks")
        db_clocks: dict[str, list[str]] = defaultdict(list)
        for r in clock_rows:
            db_clocks[r["lead_id"]].append(r["state"])
        dead: dict[str, list[Any]] = {}
        for topic in POISONED_TOPICS:
            dead[topic] = await read_topic(bootstrap, topics.dead_letter_topic(topic), timeout=5)
        deliveries = self.receiver.webhook_ids_by_lead(SlaBreached.event_type)
        breached = {lead for lead, seen in outcomes.items() if any(t == SlaBreached.event_type for t, _ in seen)}
        touched = {lead for lead in leads if lead in self.traffic.touches_sent}
        dlq_keys = Counter((r.key or b"").decode(errors="replace") for rs in dead.values() for r in rs)
        return Report(
            scenario=self.name,
            posted=len(leads),
            refused=len(self.traffic.refused),
            lost_kafka=sorted(lead for lead in leads if not assigned_ids.get(lead)),
            doubled_kafka=sorted(lead for lead in leads if len(assigned_ids.get(lead, ())) > 1),
            lost_db=sorted(lead for lead in leads if not db_assigned.get(lead)),
            doubled_db=sorted(lead for lead in leads if db_assigned.get(lead, 0) > 1),
            unresolved=sorted(lead for lead in leads if not outcomes.get(lead)),
            resolved_twice=sorted(lead for lead in leads if len(outcomes.get(lead, ())) > 1),
            clocks_not_final=sorted(lead for lead in leads if len(db_clocks.get(lead, [])) != 1
                                    or db_clocks[lead][0] not in ("met", "breached")),
            touched=len(touched),
            touch_failures=len(self.traffic.touch_failures),
            touched_but_breached=sorted(touched & breached),
            breached=len(breached & leads),
            undelivered=sorted(lead for lead in breached & leads if not deliveries.get(lead)),
            several_webhook_ids=sorted(lead for lead, ids in deliveries.items() if len(ids) > 1),
            poison_sent=len(self.poison_keys),
            poison_dead_lettered=len({k for k in dlq_keys if k in self.poison_keys}),
            unexpected_dead_letters=sum(n for k, n in dlq_keys.items() if k not in self.poison_keys),
            alive=await asyncio.to_thread(self.stack.alive),
        )


@dataclass
class Report:
    scenario: str
    posted: int
    refused: int
    lost_kafka: list[str]
    doubled_kafka: list[str]
    lost_db: list[str]
    doubled_db: list[str]
    unresolved: list[str]
    resolved_twice: list[str]
    clocks_not_final: list[str]
    touched: int
    touch_failures: int
    touched_but_breached: list[str]
    breached: int
    undelivered: list[str]
    several_webhook_ids: list[str]
    poison_sent: int
    poison_dead_lettered: int
    unexpected_dead_letters: int
    alive: dict[str, bool]

    def print(self) -> None:
        alive = sum(self.alive.values())
        print(  # noqa: T201
            f"\nFAULTS[{self.scenario}] posted={self.posted} refused={self.refused} "
            f"lost={len(self.lost_kafka)}(kafka)/{len(self.lost_db)}(db) "
            f"doubled={len(self.doubled_kafka)}(kafka)/{len(self.doubled_db)}(db) | "
            f"clocks unresolved={len(self.unresolved)} resolved_twice={len(self.resolved_twice)} "
            f"not_final_in_db={len(self.clocks_not_final)} breached={self.breached} | "
            f"touched={self.touched} touch_failures={self.touch_failures} "
            f"false_breaches={len(self.touched_but_breached)} | "
            f"alerts undelivered={len(self.undelivered)} several_webhook_ids={len(self.several_webhook_ids)} | "
            f"poison sent={self.poison_sent} dead_lettered={self.poison_dead_lettered} "
            f"unexpected_dlq={self.unexpected_dead_letters} | consumers_alive={alive}/{len(self.alive)} "
            f"{self.alive}")

    def assert_nothing_lost_or_doubled(self) -> None:
        problems = {
            "leads refused although retried": self.refused,
            "202'd leads never assigned (Kafka)": len(self.lost_kafka),
            "leads assigned more than once (Kafka)": len(self.doubled_kafka),
            "202'd leads without an assignment row": len(self.lost_db),
            "leads with several initial assignment rows": len(self.doubled_db),
            "clocks neither met nor breached": len(self.unresolved),
            "clocks met/breached more than once": len(self.resolved_twice),
            "leads without exactly one met/breached clock in the DB": len(self.clocks_not_final),
            "breaches never delivered": len(self.undelivered),
            "alerts delivered under several webhook-ids": len(self.several_webhook_ids),
            "poison not dead-lettered": self.poison_sent - self.poison_dead_lettered,
            "dead letters that are not our poison": self.unexpected_dead_letters,
            "services dead or not answering /healthz": sum(not ok for ok in self.alive.values()),
        }
        failing = {k: v for k, v in problems.items() if v}
        assert not failing, (f"{self.scenario}: {failing} "
                             f"(e.g. lost={self.lost_kafka[:3]} doubled={self.doubled_kafka[:3]})")
        assert self.posted > 0
