"""A new schema version of every integration event keeps the stored v1 events readable.

For each of the 12 event types a test-local copy of its stream contract registers a version 2
(a model that adds or tightens fields, as a real evolution would) and the upcaster from v1.
The stored v1 history then goes through the production paths with v2 in force:
`StreamContract.upcast`/`payload` (what the consumer base does to every message),
the reporting projection (`FactProjection` → `apply_event`) and the membership view the events
and ambassadors services keep. The figures must equal those of the v1-only projection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.reporting import facts
from services.reporting.fiscal_year import parse_fiscal_year
from services.reporting.indicators import compute_indicators
from services.reporting.projector import FactProjection, freshness, freshness_metadata
from shared import membership_view
from shared.contracts import ambassadors as v1_ambassadors
from shared.contracts import events as v1_events
from shared.contracts import membership as v1_membership
from shared.integration import Envelope, Payload, StreamContract, Upcaster
from shared.persistence import Database
from tests.upgrades.history import EVENT_TYPES, StoredHistory, stored_history

# --- version 2 of every event (subclasses: a v2 payload is still read by v1 readers) ----------


class CoopJoinedV2(v1_membership.CoopJoined):
    """v2 records the legal form; every member before v2 was a worker cooperative."""

    legal_form: str


class CoopProfileUpdatedV2(v1_membership.CoopProfileUpdated):
    """v2 lists the changed fields beside their values."""

    changed_fields: list[str]


class CoopLeftV2(v1_membership.CoopLeft):
    """v2 always states a reason (empty when none was given)."""

    reason: str


class CoopRejoinedV2(v1_membership.CoopRejoined):
    """v2 tells the end of the previous period when the service knew it."""

    previous_left_on: str | None


class ActivityScheduledV2(v1_events.ActivityScheduled):
    """v2 stores partners trimmed and without duplicates, and whether it is online."""

    online: bool


class ActivityCancelledV2(v1_events.ActivityCancelled):
    """v2 always states a reason."""

    reason: str


class ActivityAttendedV2(v1_events.ActivityAttended):
    """v2 says through which channel the attendance was recorded."""

    recorded_via: str


class PublicAttendanceRecordedV2(v1_events.PublicAttendanceRecorded):
    """v2 marks whether the count was estimated."""

    estimated: bool


class AmbassadorEnrolledV2(v1_ambassadors.AmbassadorEnrolled):
    """v2 names the mandate."""

    mandate: str


class AmbassadorActionLoggedV2(v1_ambassadors.AmbassadorActionLogged):
    """v2 always counts the people reached (0 when not told)."""

    people_reached: int


class AmbassadorRetiredV2(v1_ambassadors.AmbassadorRetired):
    """v2 names the end of every mandate `ended_on` too."""

    ended_on: str


class AmbassadorDeactivatedV2(v1_ambassadors.AmbassadorDeactivated):
    """v2 always states a reason."""

    reason: str


def _unique_trimmed(partners: list[str]) -> list[str]:
    kept: dict[str, str] = {}
    for partner in partners:
        name = partner.strip()
        if name and name.casefold() not in kept:
            kept[name.casefold()] = name
    return list(kept.values())


V2: dict[str, tuple[type[Payload], Upcaster]] = {
    "CoopJoined": (CoopJoinedV2, lambda d: {**d, "legal_form": "cooperative_de_travail"}),
    "CoopProfileUpdated": (
        CoopProfileUpdatedV2,
        lambda d: {**d, "changed_fields": sorted(d["changes"])},
    ),
    "CoopLeft": (CoopLeftV2, lambda d: {**d, "reason": d.get("reason") or ""}),
    "CoopRejoined": (CoopRejoinedV2, lambda d: {**d, "previous_left_on": None}),
    "ActivityScheduled": (
        ActivityScheduledV2,
        lambda d: {
            **d,
            "partners": _unique_trimmed(d.get("partners") or []),
            "online": d["format"] == "remote",
        },
    ),
    "ActivityCancelled": (ActivityCancelledV2, lambda d: {**d, "reason": d.get("reason") or ""}),
    "ActivityAttended": (ActivityAttendedV2, lambda d: {**d, "recorded_via": "api"}),
    "PublicAttendanceRecorded": (
        PublicAttendanceRecordedV2,
        lambda d: {**d, "estimated": False},
    ),
    "AmbassadorEnrolled": (AmbassadorEnrolledV2, lambda d: {**d, "mandate": "ambassadeur.rice"}),
    "AmbassadorActionLogged": (
        AmbassadorActionLoggedV2,
        lambda d: {**d, "people_reached": d.get("people_reached") or 0},
    ),
    "AmbassadorRetired": (AmbassadorRetiredV2, lambda d: {**d, "ended_on": d["retired_on"]}),
    "AmbassadorDeactivated": (
        AmbassadorDeactivatedV2,
        lambda d: {**d, "reason": d.get("reason") or "cooperative-left"},
    ),
}


def with_version_2(contract: StreamContract) -> StreamContract:
    """A copy of `contract` in which each of its events is at schema version 2."""
    upgraded = type(contract)(
        stream=contract.stream,
        service=contract.service,
        models=dict(contract.models),
        versions=dict(contract.versions),
        upcasters=dict(contract.upcasters),
        record_ids=dict(contract.record_ids),
    )
    for event_type in contract.models:
        if event_type not in V2 or (event_type in REAL_V2 and contract.versions[event_type] == 2):
            continue  # newer than the stored history, or already at version 2 in the contract
        model, upcaster = V2[event_type]
        upgraded.models[event_type] = model
        upgraded.versions[event_type] = 2
        upgraded.upcaster(event_type, 1)(upcaster)
    return upgraded


REAL_V2 = {"PublicAttendanceRecorded", "AmbassadorActionLogged"}
"""Events the contract itself moved to version 2 (§7: `record_id`, `action_id`)."""

V1_CONTRACTS = {
    c.stream: c for c in (v1_membership.MEMBERSHIP, v1_events.EVENTS, v1_ambassadors.AMBASSADORS)
}
V2_CONTRACTS = {stream: with_version_2(contract) for stream, contract in V1_CONTRACTS.items()}


def test_every_event_type_has_a_version_2_in_the_test_contracts() -> None:
    assert set(V2) == EVENT_TYPES
    for stream, contract in V2_CONTRACTS.items():
        stored = {e: v for e, v in contract.versions.items() if e in EVENT_TYPES}
        assert set(stored.values()) == {2}, stream
        as_released = {e: v for e, v in V1_CONTRACTS[stream].versions.items() if e not in REAL_V2}
        assert as_released == dict.fromkeys(set(contract.versions) - REAL_V2, 1)


# --- loading ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def history() -> StoredHistory:
    """The stored v1 history (every type, as JSON read back from the stream)."""
    return stored_history()


def test_a_stored_v1_event_of_each_type_loads_as_its_version_2(history: StoredHistory) -> None:
    loaded: set[str] = set()
    for stream, envelopes in history.streams.items():
        contract = V2_CONTRACTS[stream]
        for envelope in envelopes:
            assert envelope.schema_version == 1
            upcast = contract.upcast(envelope)
            assert upcast.schema_version == 2
            assert upcast.event_id == envelope.event_id
            assert upcast.aggregate_version == envelope.aggregate_version
            payload = contract.payload(envelope)
            released = V1_CONTRACTS[stream]
            if released.versions[envelope.event_type] == 2:  # the contract's own version 2
                model: type[Payload] = released.models[envelope.event_type]
                assert envelope.event_id in payload.model_dump().values()  # the record's id
            else:
                model = V2[envelope.event_type][0]
            assert type(payload) is model, envelope.event_type
            # v2 keeps every v1 field a reader relies on, with the same meaning.
            v1_payload = V1_CONTRACTS[stream].payload(envelope)
            assert v1_payload is not None
            for field, value in v1_payload.model_dump().items():
                if field not in ("partners", "reason", "people_reached"):
                    assert getattr(payload, field) == value, (envelope.event_type, field)
            loaded.add(envelope.event_type)
    assert loaded == EVENT_TYPES


def test_a_version_2_event_is_not_upcast_again(history: StoredHistory) -> None:
    for stream, envelopes in history.streams.items():
        contract = V2_CONTRACTS[stream]
        for envelope in envelopes:
            once = contract.upcast(envelope)
            assert contract.upcast(once) == once


def test_upcasters_chain_when_a_third_version_follows() -> None:
    contract = with_version_2(v1_membership.MEMBERSHIP)
    contract.versions["CoopJoined"] = 3
    contract.upcaster("CoopJoined", 2)(lambda d: {**d, "legal_form": d["legal_form"].upper()})
    stored = stored_history().streams["COOP_MEMBERSHIP"][0]
    assert stored.event_type == "CoopJoined"
    upcast = contract.upcast(stored)
    assert upcast.schema_version == 3
    assert upcast.data["legal_form"] == "COOPERATIVE_DE_TRAVAIL"


# --- projecting -------------------------------------------------------------------------------

V1_GENERATION, V2_GENERATION = 1, 2
CUTOFFS = [
    ("2022-2023", None),
    ("2022-2023", "2023-01-31"),
    ("2023-2024", None),
    ("2023-2024", "2023-10-31"),
    ("2023-2024", "2023-12-15"),
    ("2023-2024", "2024-03-31"),
    ("2024-2025", None),
]


@dataclass
class Projected:
    """One reporting database holding the v1-only and the upcast projections side by side."""

    engine: sa.Engine

    def figures(self, generation: int) -> list[dict[str, Any]]:
        answers = []
        with self.engine.connect() as conn:
            for label, as_of in CUTOFFS:
                year = parse_fiscal_year(label)
                cutoff = year.cutoff(date.fromisoformat(as_of) if as_of else None)
                answers.append(compute_indicators(conn, generation, year, cutoff))
        return answers

    def stream_freshness(self, generation: int) -> set[tuple[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(freshness).where(freshness.c.generation == generation))
            return {(row.stream, row.last_event_at) for row in rows}


@pytest.fixture(scope="module")
def projected(
    history: StoredHistory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Projected]:
    """The history projected twice: as stored (v1), and upcast to v2 first."""
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('upgrade') / 'reporting.db'}")
    with engine.begin() as conn:
        freshness_metadata.create_all(conn)
        facts.create_schema(conn)
        for stream, envelopes in history.streams.items():
            as_stored = FactProjection(V1_CONTRACTS[stream], V1_GENERATION)
            upgraded = FactProjection(V2_CONTRACTS[stream], V2_GENERATION)
            for envelope in envelopes:
                as_stored.apply(conn, V1_CONTRACTS[stream].upcast(envelope))
                # What the consumer base does with a v1 message once v2 is in force.
                upcast = V2_CONTRACTS[stream].upcast(envelope)
                assert upcast.schema_version == 2
                upgraded.apply(conn, upcast)
    yield Projected(engine)
    engine.dispose()


def test_the_upcast_history_projects_to_the_same_indicators_as_the_v1_history(
    projected: Projected,
) -> None:
    as_stored = projected.figures(V1_GENERATION)
    upgraded = projected.figures(V2_GENERATION)
    assert upgraded == as_stored
    # The figures are not trivially equal: the history counts in every family of indicators.
    year = as_stored[2]
    for name in (
        "members.total",
        "members.joined",
        "members.left",
        "participation.participating_members",
        "activities.total",
        "attendance.member_attendances",
        "outreach.people_reached",
        "outreach.partners",
        "parcours.participants",
        "ambassadors.mobilized",
        "ambassadors.people_reached",
    ):
        assert year[name], name
    assert year["outreach.partners"] == 2  # trimmed and case-folded, before and after v2


def test_the_upcast_history_keeps_each_stream_freshness(projected: Projected) -> None:
    assert projected.stream_freshness(V2_GENERATION) == projected.stream_freshness(V1_GENERATION)


def test_the_membership_view_reads_the_stored_v1_events_with_version_2_in_force(
    history: StoredHistory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    membership_events = history.streams["COOP_MEMBERSHIP"]

    def periods_after(events: list[Envelope], name: str) -> dict[str, Any]:
        database = Database(f"sqlite:///{tmp_path / name}", app_name="membership-view")
        database.create_tables(membership_view.metadata)
        view = membership_view.MembershipView(database)
        with database.writing() as conn:
            for envelope in events:
                view.apply(conn, envelope)
        with database.reading() as conn:
            rows = conn.execute(sa.select(membership_view.member_periods)).all()
        database.dispose()
        return {row.cooperative_id: (json.loads(row.periods), row.version) for row in rows}

    as_stored = periods_after(membership_events, "v1.db")
    monkeypatch.setattr(membership_view, "MEMBERSHIP", V2_CONTRACTS["COOP_MEMBERSHIP"])
    upgraded = periods_after(membership_events, "v2.db")
    assert upgraded == as_stored
    assert len(as_stored) == 4
    readmitted = [periods for periods, _ in as_stored.values() if len(periods) == 2]
    assert readmitted == [[["2023-03-01", "2023-12-01"], ["2024-02-01", None]]]
