"""No email address or phone number reaches a log line: SQL errors, validation errors, tracebacks, uvicorn."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
import structlog
from pydantic import BaseModel, EmailStr, ValidationError
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.exc import DBAPIError

from shared.db import create_engine
from shared.failures import describe
from shared.logging import configure_logging, get_logger
from tests.conftest import DatabaseFactory

EMAIL = "jane.doe@example.com"
PHONE = "+1 415 555 2671"
PII = re.compile(r"jane\.doe@example\.com|415 555 2671")

metadata = MetaData()
people = Table("people", metadata, Column("id", Integer, primary_key=True),
               Column("email", String(320), unique=True), Column("employees", Integer))


class Captured:
    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def text(self) -> str:
        return self.buffer.getvalue()


@pytest.fixture
def json_logs() -> Iterator[Captured]:
    """The service's own logging set-up, writing into a buffer instead of stdout."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("test")
    captured = Captured()
    ours = root.handlers[0]
    assert isinstance(ours, logging.StreamHandler)
    ours.setStream(captured.buffer)
    try:
        yield captured
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


async def test_sql_errors_with_personal_parameters_are_logged_without_them(
        databases: DatabaseFactory, json_logs: Captured) -> None:
    engine = create_engine(databases.new("pii"))
    log = get_logger("test")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(people).values(email=EMAIL))
        failures = 0
        for values in ({"email": EMAIL}, {"email": PHONE, "employees": EMAIL}):  # IntegrityError, DataError
            try:
                async with engine.begin() as conn:
                    await conn.execute(insert(people).values(**values))
            except DBAPIError as exc:
                failures += 1
                log.exception("db.failed", error=describe(exc))
                logging.getLogger("sqlalchemy").error("statement failed: %s", exc, exc_info=True)
    finally:
        await engine.dispose()
    assert failures == 2 or databases.kind == "sqlite"  # SQLite stores a text in an integer column
    out = json_logs.text()
    assert "db.failed" in out
    assert not PII.search(out), out


def test_a_validation_error_is_described_without_the_input() -> None:
    class Lead(BaseModel):
        email: EmailStr
        employees: int

    with pytest.raises(ValidationError) as caught:
        Lead.model_validate({"email": "jane.doe@@example.com", "employees": PHONE})
    assert EMAIL.split("@")[0] in str(caught.value)  # pydantic itself echoes the input
    described = describe(caught.value)
    assert "jane.doe" not in described and "415" not in described
    assert "email" in described and "employees" in described


def test_emails_and_phones_in_messages_and_tracebacks_are_redacted(json_logs: Captured) -> None:
    log = get_logger("test")
    log.info("lead.seen", note=f"reach {EMAIL} or {PHONE}", nested={"who": [EMAIL]})
    try:
        raise ValueError(f"cannot reach {EMAIL} at {PHONE}")
    except ValueError:
        log.exception("handler.failed")
        log.warning("handler.retrying", error=ValueError(f"no {EMAIL}"))  # an object, rendered as text
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    out = json_logs.text()
    assert out.count("[email]") >= 4 and "[phone]" in out
    assert not PII.search(out), out
    assert re.search(r'"timestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d', out)
