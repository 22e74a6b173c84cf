"""Structured JSON logging. Log ids (lead_id, event_id), never names, emails or phone numbers."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

#: Email addresses: something@domain.tld.
EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
#: Phone numbers: 9 to 15 digits, optionally after a "+", with the usual separators (space . - ( )).
#: Dates (8 digits) and times ("23:14:47") do not match; neither do digits inside words, ids or hex strings.
PHONE = re.compile(r"(?<![\w+:/.-])\+?\(?\d(?:[\s().-]{0,2}\d){8,14}(?![\w:])")


def redact(text: str) -> str:
    """``text`` with every email address and phone number replaced by a placeholder."""
    if "@" in text:
        text = EMAIL.sub("[email]", text)
    return PHONE.sub("[phone]", text)


def _redact_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_value(v) for v in value]
    return redact(value if isinstance(value, str) else str(value))  # e.g. an exception passed as a value


def redact_pii(_logger: Any, _method: str, event_dict: Any) -> Any:
    """The last line of defence: no email or phone number leaves in any log line, tracebacks included.

    Runs after exceptions are rendered into text, on structlog and standard-library (uvicorn, SQLAlchemy,
    aiokafka) records alike."""
    return {key: value if key.startswith("_") else _redact_value(value) for key, value in event_dict.items()}


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send both structlog and standard-library records to stdout as one JSON object per line."""
    shared_processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_pii,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.contextvars.bind_contextvars(service=service)
    # aiokafka is chatty at INFO about group joins; keep its warnings.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
