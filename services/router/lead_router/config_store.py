"""Routing document versions in the database; the newest version is the active one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_router import tables
from lead_router.domain.config import RoutingConfig, parse_document


@dataclass(frozen=True)
class ActiveConfig:
    version: int
    config: RoutingConfig
    document: dict[str, Any]


def read_document_file(path: str | Path) -> dict[str, Any]:
    """Read and parse a routing document file (YAML or JSON); raises ``InvalidDocument`` on problems."""
    document = yaml.safe_load(Path(path).read_text())
    parse_document(document)
    return document  # type: ignore[no-any-return]


async def newest_version(session: AsyncSession) -> int | None:
    value = (await session.execute(select(func.max(tables.routing_configs.c.version)))).scalar()
    return int(value) if value is not None else None


async def load_version(session: AsyncSession, version: int) -> ActiveConfig | None:
    row = (await session.execute(select(tables.routing_configs.c.document)
                                 .where(tables.routing_configs.c.version == version))).first()
    if row is None:
        return None
    return ActiveConfig(version, parse_document(row.document), row.document)


async def save_version(session: AsyncSession, document: dict[str, Any], *, origin: str, now: datetime) -> ActiveConfig:
    """Validate and store ``document`` as the next version (the caller commits)."""
    config = parse_document(document)
    version = (await newest_version(session) or 0) + 1
    await session.execute(insert(tables.routing_configs).values(
        version=version, document=document, origin=origin, created_at=now))
    return ActiveConfig(version, config, document)


async def list_versions(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(
        select(tables.routing_configs.c.version, tables.routing_configs.c.origin, tables.routing_configs.c.created_at)
        .order_by(tables.routing_configs.c.version.desc()))).all()
    return [{"version": r.version, "origin": r.origin, "created_at": r.created_at.isoformat()} for r in rows]


class ConfigCache:
    """The active config, kept in memory and refreshed when another instance stored a newer version."""

    def __init__(self) -> None:
        self._active: ActiveConfig | None = None

    async def get(self, session: AsyncSession) -> ActiveConfig:
        version = await newest_version(session)
        if version is None:
            raise RuntimeError("No routing document is stored; the router seeds one from ROUTING_CONFIG_PATH at start.")
        if self._active is None or self._active.version != version:
            loaded = await load_version(session, version)
            assert loaded is not None
            self._active = loaded
        return self._active

    def put(self, active: ActiveConfig) -> None:
        if self._active is None or active.version >= self._active.version:
            self._active = active
