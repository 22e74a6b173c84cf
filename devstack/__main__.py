"""`python -m devstack run|broker|service NAME` — what the Makefile's run targets call."""

from __future__ import annotations

import signal
import sys
import time

import typer
from rich.console import Console

from devstack.broker import start_broker, wait_for_port
from devstack.stack import SERVICES, child_env, migrate, start_service, stop_all, with_dev_defaults

app = typer.Typer(add_completion=False, help="Run leadrouter locally.")
console = Console(stderr=True)


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
    migrate(SERVICES[name], env)
    sys.exit(_supervise([start_service(SERVICES[name], env)], [name]))


@app.command()
def run() -> None:
    """Broker (unless KAFKA_BOOTSTRAP_SERVERS is set), migrations, and all three services."""
    env = child_env()
    filled = with_dev_defaults(env)
    processes, names = [], []
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        console.print(f"Using Kafka at {env['KAFKA_BOOTSTRAP_SERVERS']}.")
    else:
        env["KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:9092"
        processes.append(start_broker(9092))
        names.append("broker")
        console.print("Embedded broker (Tansu) on 127.0.0.1:9092, memory only.")
    try:
        for svc in SERVICES.values():
            migrate(svc, env)
        for svc in SERVICES.values():
            processes.append(start_service(svc, env))
            names.append(svc.name)
        for svc in SERVICES.values():
            wait_for_port("127.0.0.1", int(env.get(svc.port_env, svc.port)), timeout=60)
    except BaseException:
        stop_all(list(reversed(processes)))
        raise
    for svc in SERVICES.values():
        console.print(f"  {svc.name:<12} http://127.0.0.1:{env.get(svc.port_env, svc.port)}/docs")
    _announce_credentials(env, filled)
    console.print("Ready. Ctrl-C stops everything.")
    # services first, broker last, so they can flush and leave their consumer groups
    order = list(reversed(range(len(processes))))
    sys.exit(_supervise([processes[i] for i in order], [names[i] for i in order]))


if __name__ == "__main__":
    app()
