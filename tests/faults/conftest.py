"""The fault suite's private PostgreSQL cluster (one per session; each scenario gets its own databases)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.harness import PrivatePostgres


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    try:
        cluster = PrivatePostgres()
        cluster.start()
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"A private PostgreSQL cluster is needed for the fault suite: {exc}")
    try:
        yield cluster
    finally:
        cluster.destroy()
