"""A document stored by an older release that today's rules refuse (a bound added later) must not leave the
service unable to route or clock: at start the valid seed file becomes the next version, or the service
refuses to start with one sentence that says what to do."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, insert

from shared.db import create_engine, create_session_factory
from shared.versioned import SeedError, VersionedDocuments, versions_table
from tests.conftest import DatabaseFactory

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def bounded(limit: int) -> Any:
    def parse(document: Any) -> dict[str, Any]:
        if document["lookback_days"] > limit:
            raise ValueError(f"lookback_days: at most {limit}")
        return dict(document)
    return parse


async def _store_old_version(url: str, document: dict[str, Any]) -> tuple[Any, Any]:
    metadata = MetaData()
    table = versions_table("documents", metadata)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(table).values(version=1, document=document, origin="api", created_at=NOW))
    return engine, table


async def test_a_stored_version_refused_by_todays_rules_is_replaced_by_the_valid_seed_file(
        databases: DatabaseFactory, tmp_path: Path) -> None:
    engine, table = await _store_old_version(databases.new("versioned"), {"lookback_days": 1_000_000})
    seed = tmp_path / "doc.yaml"
    seed.write_text("lookback_days: 90\n")
    documents = VersionedDocuments(table, bounded(3650))
    try:
        await documents.seed_from_file(create_session_factory(engine), seed, what="routing document",
                                       setting="ROUTING_CONFIG_PATH", now=NOW)
        async with create_session_factory(engine)() as session:
            active = await documents.active(session)
            listing = await documents.listing(session)
    finally:
        await engine.dispose()
    assert (active.number, active.parsed) == (2, {"lookback_days": 90})
    assert [v["origin"] for v in listing] == ["file", "api"]  # the old version is kept, not edited


async def test_without_a_seed_file_the_service_says_which_version_is_invalid_and_what_to_do(
        databases: DatabaseFactory, tmp_path: Path) -> None:
    engine, table = await _store_old_version(databases.new("versioned"), {"lookback_days": 1_000_000})
    documents = VersionedDocuments(table, bounded(3650))
    try:
        with pytest.raises(SeedError) as raised:
            await documents.seed_from_file(create_session_factory(engine), tmp_path / "missing.yaml",
                                           what="routing document", setting="ROUTING_CONFIG_PATH", now=NOW)
    finally:
        await engine.dispose()
    message = str(raised.value)
    assert "version 1 no longer validates" in message and "lookback_days: at most 3650" in message
    assert "ROUTING_CONFIG_PATH" in message
