# leadrouter — every command a developer or CI needs. `make help` lists them.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR):$(CURDIR)/services/intake:$(CURDIR)/services/router:$(CURDIR)/services/sla-monitor

.PHONY: help install run run-broker run-intake run-router run-sla-monitor test test-faults test-unit lint bench clean \
	dlq-status dlq-replay fake-hubspot

help:
	@echo "make install        .venv with the dependencies and the leadrouter CLI (.venv/bin/leadrouter --help)"
	@echo "make run            broker (unless KAFKA_BOOTSTRAP_SERVERS is set) + migrations + all services"
	@echo "make run-broker     the embedded Kafka-compatible broker on 127.0.0.1:9092"
	@echo "make run-intake | run-router | run-sla-monitor   one service in the foreground"
	@echo "make test           the whole suite but the fault suite, on TEST_WORKERS=4 workers (set TEST_DATABASE_URL to include PostgreSQL)"
	@echo "make test-faults    the fault suite: crashes, outages and poison on real processes (~10 min)"
	@echo "make lint           ruff and mypy"
	@echo "make dlq-status     what intake, the router and the sla-monitor dead-lettered"
	@echo "make dlq-replay SERVICE=intake|router|sla-monitor   re-inject that service's dead letters, once"
	@echo "make bench          benchmarks (reported, not asserted)"
	@echo "make fake-hubspot   a local stand-in for HubSpot's API on 127.0.0.1:8090 (try the CRM write-back)"

# The `leadrouter` CLI (cli/leadrouter_cli) is installed editable, so .venv/bin/leadrouter runs this tree's code.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m devstack run

run-broker: $(STAMP)
	$(PY) -m devstack broker

run-intake: $(STAMP)
	$(PY) -m devstack service intake

run-router: $(STAMP)
	$(PY) -m devstack service router

run-sla-monitor: $(STAMP)
	$(PY) -m devstack service sla-monitor

fake-hubspot: $(STAMP)
	$(PY) -m devstack fake-hubspot

# The tests mostly wait (on brokers, HTTP and subprocesses), so `make test` runs them on TEST_WORKERS pytest-xdist
# workers even on 2 cores; every test has its own broker, ports and databases. The e2e tests (three services as
# processes each) run on two of the workers, one after another (tests/conftest.py). TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 4

test: $(STAMP)
	$(PY) -m pytest -m "not faults" -n $(TEST_WORKERS) --dist loadgroup

# Needs the PostgreSQL server binaries (initdb, pg_ctl): it runs a private cluster it can stop and start.
test-faults: $(STAMP)
	$(PY) -m pytest -m faults -s -p no:cacheprovider

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit tests/contract

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy shared devstack services/intake/intake services/router/lead_router services/sla-monitor/sla_monitor cli/leadrouter_cli

DLQ_ENV := ADMIN_TOKEN=$${ADMIN_TOKEN:-dev-admin}
INTAKE_DLQ_ENV := $(DLQ_ENV) INTAKE_API_KEYS=$${INTAKE_API_KEYS:-dev:dev-key} CRM_WEBHOOK_SECRET=$${CRM_WEBHOOK_SECRET:-dev-secret}

dlq-status: $(STAMP)
	@$(INTAKE_DLQ_ENV) $(PY) -m intake dlq-status
	@$(DLQ_ENV) $(PY) -m lead_router dlq-status
	@$(DLQ_ENV) $(PY) -m sla_monitor dlq-status

dlq-replay: $(STAMP)
	@case "$(SERVICE)" in \
	  intake) $(INTAKE_DLQ_ENV) $(PY) -m intake dlq-replay ;; \
	  router) $(DLQ_ENV) $(PY) -m lead_router dlq-replay ;; \
	  sla-monitor) $(DLQ_ENV) $(PY) -m sla_monitor dlq-replay ;; \
	  *) echo "Say which service: make dlq-replay SERVICE=intake, SERVICE=router or SERVICE=sla-monitor."; exit 2 ;; \
	esac

bench: $(STAMP)
	$(PY) -m benchmarks $(BENCH)

clean:
	rm -rf var .pytest_cache .hypothesis
