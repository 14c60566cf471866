"""The integration documents under docs/api are what the code generates (contract §15)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from services.api_documents import DOCS, documents, serialized
from shared.asyncapi import asyncapi_document, contract_of
from shared.integration import Payload, StreamContract
from shared.openapi import package_version

SCHEMA = Path(__file__).resolve().parent.parent / "contracts" / "asyncapi-3.0.0.schema.json"
GENERATED = documents()


def asyncapi_validator() -> Any:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_the_kept_document_is_what_the_code_generates(name: str) -> None:
    kept = DOCS / name

    assert kept.exists(), f"{kept} is missing: run `make api-docs`"
    assert json.loads(kept.read_text(encoding="utf-8")) == GENERATED[name], (
        f"{kept} differs from the code: run `make api-docs`"
    )
    assert kept.read_text(encoding="utf-8") == serialized(GENERATED[name])


def test_no_document_is_kept_that_the_code_no_longer_generates() -> None:
    assert sorted(p.name for p in DOCS.glob("*.json")) == sorted(GENERATED)


def test_every_publishing_service_has_an_asyncapi_document() -> None:
    for service in ("membership", "events", "ambassadors"):
        assert f"{service}.asyncapi.json" in GENERATED


@pytest.mark.parametrize("name", sorted(n for n in GENERATED if n.endswith(".asyncapi.json")))
def test_each_asyncapi_document_is_valid_asyncapi_3(name: str) -> None:
    document = GENERATED[name]
    errors = [f"{list(e.path)}: {e.message}" for e in asyncapi_validator().iter_errors(document)]

    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["version"] == package_version()
    assert errors == []


def test_the_validator_refuses_a_document_that_is_not_asyncapi() -> None:
    broken = {**GENERATED["membership.asyncapi.json"], "channels": {"x": {"address": 5}}}

    assert list(asyncapi_validator().iter_errors(broken))


@pytest.mark.parametrize("name", sorted(n for n in GENERATED if n.endswith(".asyncapi.json")))
def test_every_event_of_the_contract_has_its_subject_envelope_data_and_headers(name: str) -> None:
    service = name.split(".")[0]
    contract = contract_of(service)
    assert contract is not None
    document = GENERATED[name]
    schemas, messages = document["components"]["schemas"], document["components"]["messages"]

    for event_type, model in contract.models.items():
        channel = document["channels"][event_type]
        assert channel["address"] == contract.subject(event_type)
        for reference in channel["messages"].values():
            message = messages[reference["$ref"].rpartition("/")[2]]
            assert set(message["headers"]["properties"]) == {"Nats-Msg-Id", "traceparent"}
            envelope = schemas[message["payload"]["$ref"].rpartition("/")[2]]
            assert envelope["properties"]["event_type"]["const"] == event_type
            assert {"event_id", "aggregate_id", "occurred_at", "data"} <= set(envelope["required"])
        current = schemas[model.__name__]
        assert set(current["properties"]) == set(model.model_fields)
        assert contract.versions[event_type] in {
            schemas[messages[r["$ref"].rpartition("/")[2]]["payload"]["$ref"].rpartition("/")[2]][
                "properties"
            ]["schema_version"]["const"]
            for r in channel["messages"].values()
        }


def test_every_schema_version_of_an_event_is_a_message_of_its_channel() -> None:
    module = types.ModuleType("tests_fake_contract")
    sys.modules[module.__name__] = module
    contract = StreamContract(stream="COOP_FAKE", service="fake")

    class ThingDoneV1(Payload):
        """A thing was done (first version)."""

        thing_id: str

    class ThingDone(Payload):
        """A thing was done, with the record it made."""

        thing_id: str
        record_id: str

    for model in (ThingDoneV1, ThingDone):
        model.__module__ = module.__name__
        setattr(module, model.__name__, model)
    contract.event(ThingDone, version=2)

    document = asyncapi_document(contract)

    channel = document["channels"]["ThingDone"]
    assert set(channel["messages"]) == {"v1", "v2"}
    schemas = document["components"]["schemas"]
    assert schemas["ThingDoneV1Envelope"]["properties"]["schema_version"]["const"] == 1
    assert schemas["ThingDoneEnvelope"]["properties"]["schema_version"]["const"] == 2
    assert "record_id" in schemas["ThingDone"]["properties"]
    assert "record_id" not in schemas["ThingDoneV1"]["properties"]
    assert list(asyncapi_validator().iter_errors(document)) == []


def test_a_publishing_service_serves_its_asyncapi_document_without_a_token() -> None:
    from tests.unit.shared.test_openapi_documents import built_api

    for api in built_api("membership"):
        answer = TestClient(api).get("/asyncapi.json")
        assert answer.status_code == 200
        assert answer.json() == GENERATED["membership.asyncapi.json"]


def test_an_older_schema_version_without_its_model_is_still_a_message_of_its_channel() -> None:
    module = types.ModuleType("tests_fake_contract_without_v1")
    sys.modules[module.__name__] = module
    contract = StreamContract(stream="COOP_FAKE", service="fake")

    class ThingMoved(Payload):
        """A thing moved, with where to."""

        thing_id: str
        to: str

    ThingMoved.__module__ = module.__name__
    contract.event(ThingMoved, version=3)

    document = asyncapi_document(contract)

    assert set(document["channels"]["ThingMoved"]["messages"]) == {"v1", "v2", "v3"}
    schemas = document["components"]["schemas"]
    assert schemas["ThingMovedV1Envelope"]["properties"]["schema_version"]["const"] == 1
    assert "upcast" in schemas["ThingMovedV2"]["description"]
    assert list(asyncapi_validator().iter_errors(document)) == []
