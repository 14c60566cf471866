"""Integration events: the envelope on NATS, versioned payload models and their upcasters."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

EVENT_ID_NAMESPACE = uuid.UUID("5b0d9c36-8a4e-4a55-9c59-2f0f4c1f6d21")
_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes


def event_id_for(aggregate_id: uuid.UUID | str, version: int) -> str:
    """The stable id of a stored event: republishing it gives the same `Nats-Msg-Id`.

    `uuid.uuid5(EVENT_ID_NAMESPACE, "<aggregate id>:<version>")`, formed without the
    intermediate UUID object (the relay forms one per event).
    """
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + f"{aggregate_id}:{version}".encode()).digest()
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Envelope(BaseModel):
    """The body of every message on the COOP streams (contract §7)."""

    model_config = ConfigDict(extra="ignore")

    event_id: str
    event_type: str
    schema_version: int
    aggregate_id: str
    aggregate_version: int
    occurred_at: str
    correlation_id: str
    causation_id: str | None = None
    data: dict[str, Any]


def rfc3339(moment: datetime) -> str:
    """A UTC timestamp as RFC 3339 with a `Z`."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class StreamContract:
    """One publishing service's stream: its name, subjects and event payload models."""

    stream: str
    service: str
    models: dict[str, type[BaseModel]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)
    record_ids: dict[str, str] = field(default_factory=dict)
    """Event type → the data field naming the record it made, which version 1 did not carry:
    such a message's record has as its id the message's `event_id` (contract §16.1)."""

    @property
    def subjects(self) -> list[str]:
        """The stream's subject filter."""
        return [f"coop.{self.service}.>"]

    def subject(self, event_type: str) -> str:
        """`coop.<service>.<EventType>`."""
        return f"coop.{self.service}.{event_type}"

    def event(self, model: type[BaseModel], *, version: int = 1) -> type[BaseModel]:
        """Register a payload model under its class name, at a schema version."""
        self.models[model.__name__] = model
        self.versions[model.__name__] = version
        return model

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning a `from_version` payload into the next version's."""

        def register(func: Upcaster) -> Upcaster:
            self.upcasters[(event_type, from_version)] = func
            return func

        return register

    def upcast(self, envelope: Envelope) -> Envelope:
        """Bring an envelope's payload up to the current schema version of its event."""
        current = self.versions.get(envelope.event_type, envelope.schema_version)
        if envelope.schema_version >= current:
            return envelope
        data, version = dict(envelope.data), envelope.schema_version
        record_id = self.record_ids.get(envelope.event_type)
        if record_id is not None and version < 2:
            data[record_id] = envelope.event_id
        while version < current:
            data = self.upcasters[(envelope.event_type, version)](data)
            version += 1
        return envelope.model_copy(update={"data": data, "schema_version": version})

    def payload(self, envelope: Envelope) -> BaseModel | None:
        """The typed payload of an envelope after upcasting, or None for an unknown type."""
        model = self.models.get(envelope.event_type)
        if model is None:
            return None
        return model.model_validate(self.upcast(envelope).data)


class Payload(BaseModel):
    """Base of integration payload models: tolerant readers, strict writers."""

    model_config = ConfigDict(extra="ignore", frozen=True)
