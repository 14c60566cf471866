"""AsyncAPI 3.0 documents of the streams (contract §7, §15), generated with FastStream.

The document of a publishing service is made from its `StreamContract` — the very payload
models its relay publishes with — by declaring one FastStream publisher per event on a broker
that never connects: each message's payload is the envelope of §7 with that event's
`event_type`, `schema_version` and `data` model, every schema version side by side; its headers
are `Nats-Msg-Id` (the event id) and `traceparent` (W3C trace context, when traced).

An event's older schema version is documented from a payload model named `<EventType>V<n>` in
the contract's module (the model its upcaster reads), when there is one.
"""

from __future__ import annotations

import copy
import importlib
import sys
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, ConfigDict, Field, create_model

from shared.integration import Payload, StreamContract
from shared.openapi import ascii_title, package_version

SERVER = "nats://127.0.0.1:4222"
HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["Nats-Msg-Id"],
    "properties": {
        "Nats-Msg-Id": {
            "type": "string",
            "format": "uuid",
            "description": "The event's `event_id`: JetStream drops a repeat within two minutes.",
        },
        "traceparent": {
            "type": "string",
            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            "description": "W3C trace context of the command that recorded the event, when traced.",
        },
    },
}


def contract_of(service: str) -> StreamContract | None:
    """The stream contract `shared/contracts/<service>.py` declares (None for a non-publisher)."""
    try:
        module = importlib.import_module(f"shared.contracts.{service}")
    except ModuleNotFoundError:
        return None
    for value in vars(module).values():
        if isinstance(value, StreamContract) and value.service == service:
            return value
    return None


def schema_versions(contract: StreamContract, event_type: str) -> dict[int, type[BaseModel]]:
    """Every schema version of an event with its payload model, oldest first."""
    current = contract.versions.get(event_type, 1)
    model = contract.models[event_type]
    module = sys.modules.get(model.__module__)
    versions: dict[int, type[BaseModel]] = {}
    for version in range(1, current):
        older = getattr(module, f"{event_type}V{version}", None)
        if isinstance(older, type) and issubclass(older, BaseModel):
            versions[version] = older
        else:
            versions[version] = create_model(
                f"{event_type}V{version}",
                __base__=Payload,
                __doc__=(
                    f"{event_type} as schema_version {version} wrote it: readers upcast it to "
                    f"version {current}. (Name a model `{event_type}V{version}` in "
                    f"{model.__module__} to document its fields.)"
                ),
            )
    versions[current] = model
    return versions


class _Envelope(BaseModel):
    """The body of every message on the COOP streams (contract §7)."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(json_schema_extra={"format": "uuid"})
    aggregate_id: str = Field(json_schema_extra={"format": "uuid"})
    aggregate_version: int = Field(ge=1)
    occurred_at: str = Field(json_schema_extra={"format": "date-time"})
    correlation_id: str = Field(json_schema_extra={"format": "uuid"})
    causation_id: str | None = Field(json_schema_extra={"format": "uuid"})


def envelope_model(event_type: str, version: int, data: type[BaseModel], name: str) -> Any:
    """The envelope of one event at one schema version, its `data` being the payload model."""
    return create_model(
        name,
        __base__=_Envelope,
        __doc__=(data.__doc__ or event_type).strip(),
        event_type=(Literal[event_type], ...),  # type: ignore[valid-type,arg-type]
        schema_version=(Literal[version], ...),  # type: ignore[valid-type,arg-type]
        data=(data, ...),
    )


def asyncapi_document(contract: StreamContract) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of a stream contract, as JSON."""
    broker = NatsBroker(SERVER)
    for event_type in contract.models:
        versions = schema_versions(contract, event_type)
        latest = max(versions)
        for version, data in versions.items():
            name = event_type if version == latest else f"{event_type}V{version}"
            broker.publisher(
                contract.subject(event_type),
                schema=envelope_model(event_type, version, data, f"{name}Envelope"),
                title=name,
                description=(data.__doc__ or event_type).strip(),
            )
    specification = AsyncAPI(
        broker,
        title=ascii_title(f"Reseau COOP {contract.service} events"),
        version=package_version(),
        description=(
            f"The integration events the {contract.service} service publishes on the "
            f"JetStream stream `{contract.stream}` (subjects `{contract.subjects[0]}`)."
        ),
        schema_version="3.0.0",
    )
    document: dict[str, Any] = specification.to_specification().to_jsonable()
    return _complete(document, contract)


def _complete(document: dict[str, Any], contract: StreamContract) -> dict[str, Any]:
    """One channel per subject with every version's message; headers; the server described."""
    channels: dict[str, Any] = document.get("channels", {})
    operations: dict[str, Any] = document.get("operations", {})
    for event_type in contract.models:
        versions = schema_versions(contract, event_type)
        if len(versions) == 1:
            continue
        channel = channels[event_type]
        channel["messages"] = {}
        for version in sorted(versions):
            title = event_type if version == max(versions) else f"{event_type}V{version}"
            if title != event_type:
                channels.pop(title, None)
                operations.pop(title, None)
            channel["messages"][f"v{version}"] = {"$ref": f"#/components/messages/{title}:Message"}
        operations[event_type]["messages"] = [
            {"$ref": f"#/channels/{event_type}/messages/{key}"} for key in channel["messages"]
        ]
    for message in document.get("components", {}).get("messages", {}).values():
        message["headers"] = copy.deepcopy(HEADERS)
        message["correlationId"] = {
            "description": "The command's correlation id, in the envelope.",
            "location": "$message.payload#/correlation_id",
        }
        message["contentType"] = "application/json"
    for server in document.get("servers", {}).values():
        server["description"] = (
            "The embedded runner's NATS (its port is chosen at start); set COOP_NATS_URL."
        )
    document["info"]["x-stream"] = contract.stream
    return document


def serve_asyncapi(app: FastAPI, service: str) -> None:
    """`GET /asyncapi.json` (public) on a publishing service: its stream's document."""
    contract = contract_of(service)
    if contract is None:
        return
    document: list[dict[str, Any]] = []

    @app.get("/asyncapi.json", include_in_schema=False)
    async def show_asyncapi() -> JSONResponse:
        if not document:
            document.append(asyncapi_document(contract))
        return JSONResponse(document[0])
