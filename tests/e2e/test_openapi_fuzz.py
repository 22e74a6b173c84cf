"""Schemathesis drives every service (intake, router, sla-monitor: the running processes, authenticated, the
CRM webhook signed) from its own OpenAPI document: no input may cause a 5xx."""

from __future__ import annotations

import itertools
import json
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from devstack.stack import SERVICES
from intake.signatures import sign
from tests.e2e.conftest import CREDENTIALS, Stack

pytestmark = pytest.mark.e2e

#: Endpoints that answer an endless text/event-stream.
STREAMS = {"/v1/events/stream"}
MAX_EXAMPLES = 20  # per operation and per mode (schema-valid, schema-invalid)
AUTH = {"X-API-Key": CREDENTIALS["INTAKE_API_KEYS"].split(":")[1],
        "Authorization": f"Bearer {CREDENTIALS['ADMIN_TOKEN']}"}


def _send(http: requests.Session, case: schemathesis.Case, base_url: str) -> requests.Response:
    kwargs = case.as_transport_kwargs(base_url=base_url, headers=dict(AUTH))
    if case.operation.path == "/v1/activities":
        # Sign the body as the CRM does, so the fuzzed body reaches the handler.
        body = kwargs.pop("data", None) or b""
        if "json" in kwargs:
            body = json.dumps(kwargs.pop("json")).encode()
            kwargs["headers"]["Content-Type"] = "application/json"
        body = body.encode() if isinstance(body, str) else body
        timestamp = str(int(time.time()))
        kwargs["headers"].update({"X-Webhook-Timestamp": timestamp,
                                  "X-Webhook-Signature": sign(CREDENTIALS["CRM_WEBHOOK_SECRET"], timestamp, body)})
        kwargs["data"] = body
    kwargs.setdefault("timeout", 30)
    return http.request(**kwargs)


def _curl(case: schemathesis.Case) -> str:
    command = case.as_curl_command()
    return command if len(command) < 400 else command[:400] + "…"


@pytest.mark.parametrize("service", list(SERVICES), ids=str)
def test_no_input_makes_a_service_answer_5xx(stack: Stack, service: str) -> None:
    base_url = stack.urls[service]
    # Fuzz a service that says it is ready: a 503 from /readyz afterwards is a finding, not start-up.
    deadline = time.monotonic() + 60
    while requests.get(f"{base_url}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, requests.get(f"{base_url}/readyz", timeout=10).text
        time.sleep(0.2)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    # A live event stream never ends by itself, so a fuzzed call would never return; tests/integration covers it.
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.path not in STREAMS]
    assert operations
    failures: dict[str, str] = {}
    cases = 0
    with requests.Session() as http:
        for operation, mode in itertools.product(operations, list(GenerationMode)):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None, derandomize=True)
            def call(case: schemathesis.Case) -> None:
                nonlocal cases
                cases += 1
                try:
                    response = _send(http, case, base_url)
                except requests.ConnectionError as exc:  # the server dropped the connection: no answer at all
                    failures.setdefault(case.operation.label, f"dropped ({type(exc).__name__}): {_curl(case)}")
                    return
                try:
                    case.validate_response(response, checks=[not_a_server_error])
                except BaseException as exc:  # a FailureGroup; keep going, the report lists every 5xx operation
                    if isinstance(exc, KeyboardInterrupt | SystemExit):
                        raise
                    failures.setdefault(case.operation.label,
                                        f"{response.status_code} {response.text[:200]!r}: {_curl(case)}")

            try:
                call()
            except Unsatisfiable:  # an operation without inputs has no schema-invalid form
                assert mode is GenerationMode.NEGATIVE
    print(f"\nSCHEMATHESIS[{service}] operations={len(operations)} cases={cases} "  # noqa: T201
          f"5xx_operations={len(failures)}")
    assert not failures, "\n".join(f"{label}: {detail}" for label, detail in failures.items())
