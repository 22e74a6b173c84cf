"""`python -m devstack run|broker|service NAME` — what the Makefile's run targets call."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

import typer
from rich.console import Console

from devstack.broker import spawn_broker, start_broker
from devstack.fake_hubspot import DEFAULT_PORT as DEFAULT_HUBSPOT_PORT
from devstack.fake_hubspot import FakeHubSpot
from devstack.stack import (
    ROOT,
    SERVICES,
    child_env,
    die_with_parent,
    start_migration,
    start_service,
    stop_all,
    with_dev_defaults,
)
from devstack.supervisor import Supervisor, Unit, listening
from shared.kafka import ensure_topics
from shared.settings import KafkaSettings
from shared.topics import ALL_TOPICS

app = typer.Typer(add_completion=False, help="Run leadrouter locally.")
console = Console(stderr=True, soft_wrap=True)  # a reason stays on one line, however long


def _announce_credentials(env: dict[str, str], filled: list[str]) -> None:
    if not filled:
        return
    console.print("[yellow]Using development credentials (set these variables to override):[/]")
    for name in filled:
        console.print(f"  {name}={env[name]}")


def _supervise(processes: list, names: list[str]) -> int:  # type: ignore[type-arg]
    """Wait until Ctrl-C/SIGTERM or until one child exits, then stop everything."""
    stop = False

    def _on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    code = 0
    try:
        while not stop:
            for process, name in zip(processes, names, strict=True):
                if process.poll() is not None:
                    console.print(f"[red]{name} exited with code {process.returncode}; stopping the rest.[/]")
                    code = process.returncode or 1
                    stop = True
                    break
            time.sleep(0.2)
    finally:
        console.print("Stopping…")
        stop_all(processes)
    console.print("Stopped.")
    return code


@app.command()
def broker(port: int = 9092) -> None:
    """Run the embedded broker on 127.0.0.1:PORT in the foreground."""
    process = start_broker(port, quiet=False)
    console.print(f"Embedded Kafka-compatible broker (Tansu) on 127.0.0.1:{port}. Ctrl-C stops it.")
    sys.exit(_supervise([process], ["broker"]))


@app.command()
def service(name: str) -> None:
    """Apply one service's migrations and run it in the foreground."""
    if name not in SERVICES:
        raise typer.BadParameter(f"Unknown service {name!r}; choose one of {', '.join(SERVICES)}.")
    env = child_env()
    _announce_credentials(env, with_dev_defaults(env))
    migration = subprocess.run([sys.executable, "-m", SERVICES[name].module, "migrate"], env=env, cwd=ROOT)
    if migration.returncode != 0:
        sys.exit(migration.returncode)  # the service has said why, in one line
    sys.exit(_supervise([start_service(SERVICES[name], env)], [name]))


@app.command("fake-hubspot")
def fake_hubspot(port: int = DEFAULT_HUBSPOT_PORT, token: str = "") -> None:
    """Run a local stand-in for HubSpot's API (devstack/fake_hubspot.py) on 127.0.0.1:PORT.

    With `HUBSPOT_ACCESS_TOKEN=dev-hubspot-token HUBSPOT_API_URL=http://127.0.0.1:8090 make run`, every
    assignment is written to it; `POST /_fake/contacts/{id}/touch` then sends intake HubSpot's signed
    "last contacted" webhook for that contact, which meets the lead's clock."""
    import uvicorn

    env = child_env()
    with_dev_defaults(env)
    fake = FakeHubSpot(token=token or None, intake_url=env["INTAKE_PUBLIC_URL"],
                       client_secret=env["HUBSPOT_CLIENT_SECRET"])
    console.print(f"Fake HubSpot on http://127.0.0.1:{port} (contacts: GET /_fake/contacts). Ctrl-C stops it.")
    uvicorn.run(fake.app(), host="127.0.0.1", port=port, log_level="warning")


def _recreate_topics(env: dict[str, str]) -> None:
    """After the memory-only broker restarted: create the topics again (the outboxes re-publish)."""
    settings = KafkaSettings(kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
                             kafka_topic_partitions=int(env.get("KAFKA_TOPIC_PARTITIONS", "6")))
    asyncio.run(ensure_topics(settings, ALL_TOPICS, timeout=15))
    console.print("Topics created again on the restarted broker; the services' outboxes re-publish what they retain.")


def _units(env: dict[str, str]) -> list[Unit]:
    units = []
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        console.print(f"Using Kafka at {env['KAFKA_BOOTSTRAP_SERVERS']}.")
    else:
        port = int(env.get("EMBEDDED_BROKER_PORT") or 9092)
        env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{port}"
        if listening(port):
            console.print(f"broker: cannot start: 127.0.0.1:{port} is already in use; stop what listens there, "
                          "or set KAFKA_BOOTSTRAP_SERVERS to use it as the Kafka.")
            sys.exit(1)
        broker_unit = Unit("broker", port=port, after_restart=lambda: _recreate_topics(env),
                           start=lambda: spawn_broker(port, preexec_fn=die_with_parent))
        broker_unit.process = start_broker(port, preexec_fn=die_with_parent)
        broker_unit.state = "running"
        broker_unit.ready = broker_unit.ever_ready = True
        units.append(broker_unit)
        console.print(f"Embedded broker (Tansu) on 127.0.0.1:{port}: memory only, for development and tests.")
    for svc in SERVICES.values():
        units.append(Unit(
            svc.name, port=int(env.get(svc.port_env) or svc.port),
            prepare=lambda svc=svc: start_migration(svc, env, stderr=subprocess.PIPE),  # type: ignore[misc]
            start=lambda svc=svc: start_service(svc, env, stderr=subprocess.PIPE),  # type: ignore[misc]
        ))
    return units


@app.command()
def run() -> None:
    """Broker (unless KAFKA_BOOTSTRAP_SERVERS is set), migrations, and all three services, kept running."""
    env = child_env()
    _announce_credentials(env, with_dev_defaults(env))  # at once, not only when everything is up
    stop = False

    def _on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    def ready() -> None:
        for svc in SERVICES.values():
            console.print(f"  {svc.name:<12} http://127.0.0.1:{env.get(svc.port_env) or svc.port}/docs")
        sla_port = env.get(SERVICES["sla-monitor"].port_env) or SERVICES["sla-monitor"].port
        console.print(f"  ops console: http://127.0.0.1:{sla_port}/ops/ (sign in with ADMIN_TOKEN)")
        console.print("Ready. A service that dies is restarted; Ctrl-C stops everything.")

    supervisor = Supervisor(_units(env), console, on_ready=ready)
    try:
        while not stop:
            supervisor.step()
            time.sleep(0.2)
    finally:
        console.print("Stopping…")
        supervisor.stop()
    console.print("Stopped.")
    sys.exit(0)


if __name__ == "__main__":
    app()
