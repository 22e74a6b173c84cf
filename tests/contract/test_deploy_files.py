"""The deployment files agree with the contract: each service's port, database variable, credentials,
migrations before serving, readiness probes, a pinned non-root image."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROOT = DEPLOY.parent
SERVICES = {"intake": (8000, "INTAKE_DATABASE_URL"), "router": (8001, "ROUTER_DATABASE_URL"),
            "sla-monitor": (8002, "SLA_MONITOR_DATABASE_URL")}
CREDENTIALS = {"ADMIN_TOKEN", "INTAKE_API_KEYS", "CRM_WEBHOOK_SECRET"}


def _k8s() -> list[dict[str, Any]]:
    return [doc for path in sorted((DEPLOY / "k8s").glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]


def test_compose_runs_every_service_on_its_port_with_its_database_migrating_first() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    for name, (port, database_env) in SERVICES.items():
        service = compose["services"][name]
        assert f"{port}:{port}" in service["ports"]
        assert database_env in service["environment"]
        assert service["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert f"leadrouter {name} migrate && exec leadrouter {name}" in service["command"][-1]
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
    assert compose["services"]["intake"]["environment"].keys() >= CREDENTIALS


def test_kubernetes_deployments_migrate_in_an_init_container_and_probe_readiness() -> None:
    docs = _k8s()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == set(SERVICES)
    secret = next(d for d in docs if d["kind"] == "Secret")
    for name, (port, database_env) in SERVICES.items():
        pod = deployments[name]["spec"]["template"]["spec"]
        [init] = pod["initContainers"]
        [container] = pod["containers"]
        assert init["args"] == [name, "migrate"] and container["args"] == [name]
        assert container["ports"][0]["containerPort"] == port
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert database_env in secret["stringData"]
    assert CREDENTIALS <= set(secret["stringData"])
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"} == {"router", "sla-monitor"}


SCHEMAS = {"intake": ("INTAKE_DATABASE_SCHEMA", "intake"), "router": ("ROUTER_DATABASE_SCHEMA", "router"),
           "sla-monitor": ("SLA_MONITOR_DATABASE_SCHEMA", "sla_monitor")}


def test_every_deployment_gives_each_service_the_schema_its_settings_and_migrations_default_to() -> None:
    from intake.settings import IntakeSettings
    from lead_router.settings import RouterSettings
    from sla_monitor.settings import SlaMonitorSettings

    defaults = {"intake": IntakeSettings.model_fields["intake_database_schema"].default,
                "router": RouterSettings.model_fields["router_database_schema"].default,
                "sla-monitor": SlaMonitorSettings.model_fields["sla_monitor_database_schema"].default}
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    config = next(d for d in _k8s() if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "leadrouter-env")
    for name, (variable, schema) in SCHEMAS.items():
        ini = (ROOT / "services" / name / "alembic.ini").read_text()
        assert defaults[name] == schema and f"database_schema = {schema}" in ini
        assert compose["services"][name]["environment"][variable] == schema
        assert config["data"][variable] == schema


def test_the_seed_documents_in_kubernetes_match_the_shipped_ones() -> None:
    documents = next(d for d in _k8s() if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "leadrouter-documents")
    assert documents["data"]["routing.yaml"] == (ROOT / "config" / "routing.yaml").read_text()
    assert documents["data"]["sla-policies.yaml"] == (ROOT / "config" / "sla-policies.yaml").read_text()


def test_the_image_is_pinned_runs_as_a_non_root_user_and_knows_every_service() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for base in re.findall(r"^FROM (\S+)", dockerfile, flags=re.M):
        assert re.search(r":\d+\.\d+\.\d+", base), f"{base} is not pinned to an exact version"
    assert re.search(r"^USER 10001$", dockerfile, flags=re.M)
    entrypoint = (DEPLOY / "entrypoint.sh").read_text()
    for module in ("intake", "lead_router", "sla_monitor"):
        assert f"module={module}" in entrypoint


def test_compose_is_valid_for_docker_compose() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("The docker CLI is not installed here.")
    result = subprocess.run([docker, "compose", "-f", str(DEPLOY / "docker-compose.yml"), "--env-file",
                             str(DEPLOY / ".env.example"), "config", "--quiet"], capture_output=True, timeout=60)
    if result.returncode != 0 and (b"is not a docker command" in result.stderr
                                   or b"unknown shorthand flag" in result.stderr):
        pytest.skip("The docker CLI has no compose plugin here.")
    assert result.returncode == 0, result.stderr.decode()
