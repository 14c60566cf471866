"""Integration contracts: subjects, stable event ids, RFC 3339 times, upcasting old payloads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contracts.membership import MEMBERSHIP, CoopJoined, CoopLeft
from shared.integration import (
    EVENT_ID_NAMESPACE,
    Envelope,
    Payload,
    StreamContract,
    event_id_for,
    rfc3339,
)


def envelope(event_type: str, schema_version: int, data: dict[str, Any]) -> Envelope:
    aggregate_id = str(uuid4())
    return Envelope(
        event_id=event_id_for(aggregate_id, 1),
        event_type=event_type,
        schema_version=schema_version,
        aggregate_id=aggregate_id,
        aggregate_version=1,
        occurred_at="2024-01-05T10:00:00Z",
        correlation_id=str(uuid4()),
        causation_id=None,
        data=data,
    )


V1_JOINED = {
    "cooperative_id": "00000000-0000-0000-0000-000000000001",
    "name": "Coop",
    "region": "06",
    "sector": "microbrasserie",
    "worker_members": 12,
    "joined_on": "2023-05-14",
    "neq": None,
}


def contract_with_a_v2_of_coop_joined() -> tuple[StreamContract, type[Payload]]:
    """A test-local contract where CoopJoined v2 splits worker_members and names the region."""
    contract = StreamContract(stream="TEST_MEMBERSHIP", service="membership")
    for name, model in MEMBERSHIP.models.items():
        if name != "CoopJoined":
            contract.event(model)

    class CoopJoined(Payload):
        cooperative_id: str
        name: str
        region: str
        region_name: str
        sector: str
        members: dict[str, int]
        joined_on: str
        neq: str | None = None

    contract.event(CoopJoined, version=2)

    @contract.upcaster("CoopJoined", 1)
    def joined_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        upgraded = {k: v for k, v in data.items() if k != "worker_members"}
        upgraded["members"] = {"workers": data["worker_members"]}
        upgraded["region_name"] = {"06": "Montréal"}.get(data["region"], "")
        return upgraded

    return contract, CoopJoined


def test_a_stored_v1_envelope_is_read_as_v2_through_the_upcaster() -> None:
    contract, joined_v2 = contract_with_a_v2_of_coop_joined()
    stored = envelope("CoopJoined", 1, dict(V1_JOINED))

    upcast = contract.upcast(stored)
    payload = contract.payload(stored)

    assert upcast.schema_version == 2
    assert upcast.data["members"] == {"workers": 12}
    assert "worker_members" not in upcast.data
    assert isinstance(payload, joined_v2)
    assert payload.members == {"workers": 12}  # type: ignore[attr-defined]
    assert payload.region_name == "Montréal"  # type: ignore[attr-defined]
    assert stored.schema_version == 1
    assert stored.data == V1_JOINED


def test_a_current_version_envelope_is_not_upcast() -> None:
    contract, joined_v2 = contract_with_a_v2_of_coop_joined()
    current = {**V1_JOINED, "members": {"workers": 3}, "region_name": "Montréal"}
    del current["worker_members"]

    payload = contract.payload(envelope("CoopJoined", 2, current))

    assert isinstance(payload, joined_v2)
    assert payload.members == {"workers": 3}  # type: ignore[attr-defined]


def test_upcasters_chain_from_any_old_version_to_the_current_one() -> None:
    contract = StreamContract(stream="TEST", service="test")

    class Renamed(Payload):
        title: str
        count: int

    contract.event(Renamed, version=3)
    contract.upcaster("Renamed", 1)(lambda d: {"label": d["name"], "count": 1})
    contract.upcaster("Renamed", 2)(lambda d: {"title": d["label"], "count": d["count"]})

    payload = contract.payload(envelope("Renamed", 1, {"name": "formation"}))

    assert payload == Renamed(title="formation", count=1)


def test_other_event_types_are_untouched_by_an_upcaster() -> None:
    contract, _ = contract_with_a_v2_of_coop_joined()
    data = {"cooperative_id": "c", "left_on": "2024-01-01", "reason": None}

    payload = contract.payload(envelope("CoopLeft", 1, data))

    assert payload == CoopLeft(cooperative_id="c", left_on="2024-01-01")


def test_an_unknown_event_type_has_no_payload() -> None:
    assert MEMBERSHIP.payload(envelope("CoopMerged", 1, {})) is None


def test_payload_readers_tolerate_fields_they_do_not_know() -> None:
    payload = MEMBERSHIP.payload(envelope("CoopJoined", 1, {**V1_JOINED, "extra": "x"}))

    assert isinstance(payload, CoopJoined)


def test_subjects_are_coop_service_event_type() -> None:
    assert MEMBERSHIP.subjects == ["coop.membership.>"]
    assert MEMBERSHIP.subject("CoopJoined") == "coop.membership.CoopJoined"
    assert MEMBERSHIP.stream == "COOP_MEMBERSHIP"
    assert MEMBERSHIP.versions == dict.fromkeys(
        (
            "CoopJoined",
            "CoopProfileUpdated",
            "CoopLeft",
            "CoopRejoined",
            "CoopMembershipCorrected",
            "CoopVoided",
            "CoopRestored",
            "SectorDefined",
        ),
        1,
    )


def test_an_event_id_is_a_stable_uuid_of_the_aggregate_and_version() -> None:
    aggregate_id = uuid4()

    first = event_id_for(aggregate_id, 1)

    assert UUID(first)
    assert event_id_for(str(aggregate_id), 1) == first
    assert event_id_for(aggregate_id, 2) != first
    assert event_id_for(uuid4(), 1) != first


@given(st.uuids(), st.integers(min_value=1, max_value=10**9))
def test_an_event_id_is_the_uuid5_of_the_aggregate_and_version_in_the_event_namespace(
    aggregate_id: UUID, version: int
) -> None:
    expected = str(uuid5(EVENT_ID_NAMESPACE, f"{aggregate_id}:{version}"))

    assert event_id_for(aggregate_id, version) == expected


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 1, 5, 10, 0, tzinfo=UTC),
        datetime(2024, 1, 5, 5, 0, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_timestamps_are_rfc3339_in_utc_with_a_z(moment: datetime) -> None:
    text = rfc3339(moment)

    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", text)
    assert text.startswith("2024-01-05T10:00:00")
    assert datetime.fromisoformat(text.replace("Z", "+00:00")) == moment
