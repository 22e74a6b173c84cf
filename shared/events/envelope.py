"""The CloudEvents 1.0 envelope (structured JSON mode) and the base class of every event's data."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field


class EventData(BaseModel):
    """The ``data`` of one event type. Unknown fields are ignored so older readers accept newer events."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]
    #: The version of this ``data`` schema; a breaking change bumps it and adds an upcast from the one before
    #: (``shared.events.upcasting``). It travels in the envelope's ``dataversion`` extension.
    data_version: ClassVar[int] = 1

    lead_id: str


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event. ``subject`` is the lead id and also the Kafka key."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    datacontenttype: Literal["application/json"] = "application/json"
    #: CloudEvents extension: the version of ``data``'s schema. Events written before it existed are version 1.
    dataversion: int = Field(default=1, ge=1)
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def wrap(cls, data: EventData, *, source: str, event_id: str | None = None,
             time: datetime | None = None) -> Self:
        """Put ``data`` in an envelope whose type and subject come from the data itself."""
        return cls(
            id=event_id or str(uuid.uuid4()),
            source=source,
            type=data.event_type,
            time=time or datetime.now(UTC),
            subject=data.lead_id,
            dataversion=data.data_version,
            data=data.model_dump(mode="json"),
        )

    def to_json(self) -> str:
        return self.model_dump_json()

    def to_bytes(self) -> bytes:
        return self.to_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Decode a structured-mode CloudEvent; raises ``ValueError`` on anything else."""
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"The message is not JSON: {exc}") from exc
        return cls.model_validate(payload)
