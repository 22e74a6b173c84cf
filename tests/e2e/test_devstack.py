"""`make run`'s supervisor: starts every service, prints the dev credentials, and leaves no process behind
on Ctrl-C; a service started without credentials refuses to start and says why."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from devstack.broker import free_port
from devstack.stack import ROOT, SERVICES, Service, child_env

pytestmark = pytest.mark.e2e


def _processes_with_marker(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _without_credentials() -> dict[str, str]:
    env = child_env()
    for name in ("INTAKE_API_KEYS", "CRM_WEBHOOK_SECRET", "ADMIN_TOKEN"):
        env.pop(name, None)
    return env


def test_make_run_starts_everything_and_ctrl_c_stops_every_process(kafka_bootstrap: str, tmp_path: Path) -> None:
    marker = f"LEADROUTER_TEST_RUN={uuid.uuid4().hex}"
    env = _without_credentials()
    env.update({"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "KAFKA_SESSION_TIMEOUT_MS": "2000",
                marker.split("=")[0]: marker.split("=")[1]})
    for service in SERVICES.values():
        env[service.port_env] = str(free_port())
        env[service.database_env] = f"sqlite+aiosqlite:///{tmp_path / (service.name + '.db')}"
    supervisor = subprocess.Popen([sys.executable, "-m", "devstack", "run"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for service in SERVICES.values():
            url = f"http://127.0.0.1:{env[service.port_env]}/healthz"
            deadline = time.monotonic() + 60
            while True:
                with suppress(httpx.HTTPError):  # not listening yet
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                assert supervisor.poll() is None, supervisor.stdout.read().decode() if supervisor.stdout else ""
                assert time.monotonic() < deadline, f"{service.name} did not come up"
                time.sleep(0.1)
        assert len(_processes_with_marker(marker)) >= 4  # the supervisor and three services
        _integrations_work_with_their_dev_values(f"http://127.0.0.1:{env[SERVICES['intake'].port_env]}")
        supervisor.send_signal(signal.SIGINT)
        output, _ = supervisor.communicate(timeout=60)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    text = output.decode()
    assert "ADMIN_TOKEN=dev-admin" in text and "INTAKE_API_KEYS=dev:dev-key" in text
    assert "CRM_WEBHOOK_SECRET=dev-secret" in text
    assert "HUBSPOT_CLIENT_SECRET=dev-hubspot-secret" in text and "TYPEFORM_SECRET=dev-typeform" in text
    assert f"ops console: http://127.0.0.1:{env[SERVICES['sla-monitor'].port_env]}/ops/" in text
    assert supervisor.returncode == 0
    assert _processes_with_marker(marker) == []


def _integrations_work_with_their_dev_values(intake: str) -> None:
    """Every integration endpoint of the contract is switched on by `make run`: with a wrong credential it
    answers 401/403 (an unconfigured one answers 404), and with the printed dev value it does its job."""
    with httpx.Client(base_url=intake, timeout=10) as http:
        for method, path in (("POST", "/v1/integrations/hubspot"), ("POST", "/v1/integrations/salesforce/wrong"),
                             ("POST", "/v1/integrations/pipedrive"), ("POST", "/v1/integrations/close"),
                             ("POST", "/v1/sources/typeform"), ("POST", "/v1/sources/tally"),
                             ("POST", "/v1/sources/meta"), ("POST", "/v1/sources/linkedin"),
                             ("GET", "/v1/sources/meta?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1")):
            answer = http.request(method, path, content=b"{}", headers={"Content-Type": "application/json"})
            assert answer.status_code in (401, 403), (path, answer.status_code, answer.text)
        challenge = http.get("/v1/sources/meta", params={
            "hub.mode": "subscribe", "hub.verify_token": "dev-meta-verify", "hub.challenge": "1158201444"})
        assert challenge.status_code == 200 and challenge.text == "1158201444"
        linkedin = http.get("/v1/sources/linkedin", params={"challengeCode": "890e4665-4dfe-4ab3-b6d4-5fa2fd2ba1d9"})
        expected = hmac.new(b"dev-linkedin", b"890e4665-4dfe-4ab3-b6d4-5fa2fd2ba1d9", hashlib.sha256).hexdigest()
        assert linkedin.json()["challengeResponse"] == expected
        google = http.post("/v1/sources/google-ads", json={
            "google_key": "dev-google-key", "lead_id": "dev-1", "is_test": True, "form_id": 1, "campaign_id": 2,
            "user_column_data": [{"column_id": "EMAIL", "string_value": "test@example.com"}]})
        assert google.status_code == 200, google.text
        body = json.dumps({"event_id": "01", "event_type": "form_response", "form_response": {
            "form_id": "lT4Z3j", "token": "dev-token-1", "submitted_at": "2026-11-27T09:00:00Z",
            "definition": {"id": "lT4Z3j", "title": "Demo request", "fields": []},
            "answers": [{"type": "email", "email": "typeform.dev@example.com",
                         "field": {"id": "f1", "type": "email", "ref": "email"}}]}}).encode()
        signature = base64.b64encode(hmac.new(b"dev-typeform", body, hashlib.sha256).digest()).decode()
        typeform = http.post("/v1/sources/typeform", content=body, headers={
            "Content-Type": "application/json", "Typeform-Signature": f"sha256={signature}"})
        assert typeform.status_code == 200 and typeform.json()["lead_id"], typeform.text


@pytest.mark.parametrize("service", list(SERVICES.values()), ids=lambda s: s.name)
def test_a_service_started_without_credentials_refuses_to_start(service: Service, tmp_path: Path) -> None:
    env = _without_credentials()
    env[service.database_env] = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    result = subprocess.run([sys.executable, "-m", service.module], cwd=ROOT, env=env,
                            capture_output=True, timeout=60)
    assert result.returncode == 2
    assert b"is not set" in result.stderr
    assert not (tmp_path / "x.db").exists()
