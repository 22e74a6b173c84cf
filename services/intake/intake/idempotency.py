"""``Idempotency-Key``: the same key and body get the same answer again; the same key with another body is a 409."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import tables


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: dict[str, Any]


def request_fingerprint(content_type: str, body: bytes) -> str:
    return hashlib.sha256(content_type.split(";")[0].strip().lower().encode() + b"\n" + body).hexdigest()


async def stored_answer(session: AsyncSession, *, client: str, key: str, fingerprint: str) -> StoredAnswer | None:
    table = tables.idempotency_keys
    row = (await session.execute(
        select(table.c.request_hash, table.c.status_code, table.c.response)
        .where(table.c.client == client, table.c.key == key)
    )).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was already used with a different request body; use a new key.")
    return StoredAnswer(row.status_code, row.response)


async def remember_answer(session: AsyncSession, *, client: str, key: str, fingerprint: str,
                          answer: StoredAnswer, now: datetime) -> None:
    await session.execute(insert(tables.idempotency_keys).values(
        client=client, key=key, request_hash=fingerprint, status_code=answer.status_code,
        response=answer.body, created_at=now,
    ))
