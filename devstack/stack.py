"""Run the services as child processes and stop them all, cleanly, on Ctrl-C."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEV_CREDENTIALS = {
    "INTAKE_API_KEYS": "dev:dev-key",
    "CRM_WEBHOOK_SECRET": "dev-secret",
    "ADMIN_TOKEN": "dev-admin",
    # Integrations (CONTRACT.md "Integrations"): each provider's dev secret, so every endpoint answers locally.
    "INTAKE_PUBLIC_URL": "http://127.0.0.1:8000",
    "HUBSPOT_CLIENT_SECRET": "dev-hubspot-secret",
    "SALESFORCE_OUTBOUND_TOKEN": "dev-salesforce",
    "PIPEDRIVE_WEBHOOK_USER": "dev",
    "PIPEDRIVE_WEBHOOK_PASSWORD": "dev-pipedrive",
    "CLOSE_SIGNATURE_KEY": "6465762d636c6f73652d6b6579",
    "GOOGLE_ADS_WEBHOOK_KEY": "dev-google-key",
    "TYPEFORM_SECRET": "dev-typeform",
    "TALLY_SIGNING_SECRET": "dev-tally",
    "ZUDDL_WEBHOOK_TOKEN": "dev-zuddl",
    "META_VERIFY_TOKEN": "dev-meta-verify",
    "META_APP_SECRET": "dev-meta-secret",
    "LINKEDIN_CLIENT_SECRET": "dev-linkedin",
}


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    folder: str
    port: int

    @property
    def env_prefix(self) -> str:
        return self.name.upper().replace("-", "_")

    @property
    def port_env(self) -> str:
        return f"{self.env_prefix}_PORT"

    @property
    def database_env(self) -> str:
        return f"{self.env_prefix}_DATABASE_URL"


SERVICES = {
    s.name: s
    for s in (
        Service("intake", "intake", "services/intake", 8000),
        Service("router", "lead_router", "services/router", 8001),
        Service("sla-monitor", "sla_monitor", "services/sla-monitor", 8002),
    )
}


def python_path() -> str:
    paths = [str(ROOT)] + [str(ROOT / s.folder) for s in SERVICES.values()]
    return os.pathsep.join(paths)


def child_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = python_path()
    env.update(overrides or {})
    return env


def with_dev_defaults(env: dict[str, str]) -> list[str]:
    """Fill in the dev credentials that are unset; return the names that got dev values."""
    filled = []
    for name, value in DEV_CREDENTIALS.items():
        if not env.get(name):
            if name == "INTAKE_PUBLIC_URL":  # where intake really listens
                value = f"http://127.0.0.1:{env.get(SERVICES['intake'].port_env) or SERVICES['intake'].port}"
            env[name] = value
            filled.append(name)
    env.setdefault("ALLOW_PRIVATE_WEBHOOK_TARGETS", "true")
    # The sla-monitor's ops console calls the router's and intake's APIs where they listen here.
    for variable, name in (("ROUTER_URL", "router"), ("INTAKE_URL", "intake")):
        env.setdefault(variable, f"http://127.0.0.1:{env.get(SERVICES[name].port_env) or SERVICES[name].port}")
    # Assignment messages link to the lead where this intake serves it.
    env.setdefault("LEAD_URL_TEMPLATE", env["INTAKE_PUBLIC_URL"].rstrip("/") + "/v1/leads/{lead_id}")
    return filled


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this child if the parent dies, so no service outlives `make run`."""
    with suppress(OSError):  # no glibc (not Linux): the supervisor still stops its children when it stops
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setpgid(0, 0)  # own process group: Ctrl-C reaches the supervisor, which stops children in order


def spawn(args: list[str], env: Mapping[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=dict(env), cwd=ROOT, preexec_fn=die_with_parent, **kwargs)  # type: ignore[call-overload]


def migrate(service: Service, env: Mapping[str, str]) -> None:
    subprocess.run([sys.executable, "-m", service.module, "migrate"], env=dict(env), cwd=ROOT, check=True)


def start_migration(service: Service, env: Mapping[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    """Apply ``service``'s migrations in a child process (the supervisor waits for it without blocking)."""
    return spawn([sys.executable, "-m", service.module, "migrate"], env, **kwargs)


def start_service(service: Service, env: Mapping[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    return spawn([sys.executable, "-m", service.module], env, **kwargs)


def stop_all(processes: list[subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    """SIGTERM every process (services before the broker), then SIGKILL what is still running."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
