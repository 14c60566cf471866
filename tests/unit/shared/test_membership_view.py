"""The membership view other services keep: periods from membership events, each applied once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from shared import membership_view
from shared.integration import Envelope, event_id_for
from shared.membership_view import MembershipView
from shared.persistence import Database


@pytest.fixture
def view(tmp_path: Path) -> Iterator[MembershipView]:
    database = Database(f"sqlite:///{tmp_path / 'view.sqlite3'}", app_name="test")
    database.create_tables(membership_view.metadata)
    try:
        yield MembershipView(database)
    finally:
        database.dispose()


def message(cooperative_id: str, version: int, event_type: str, **data: Any) -> Envelope:
    return Envelope(
        event_id=event_id_for(cooperative_id, version),
        event_type=event_type,
        schema_version=1,
        aggregate_id=cooperative_id,
        aggregate_version=version,
        occurred_at="2024-01-05T10:00:00Z",
        correlation_id=str(uuid4()),
        data={"cooperative_id": cooperative_id, **data},
    )


def history(cooperative_id: str) -> list[Envelope]:
    joined = {"name": "C", "region": "06", "sector": "s", "worker_members": 1}
    return [
        message(cooperative_id, 1, "CoopJoined", joined_on="2020-01-01", **joined),
        message(cooperative_id, 2, "CoopProfileUpdated", changes={"name": "D"}),
        message(cooperative_id, 3, "CoopLeft", left_on="2021-01-01", reason=None),
        message(cooperative_id, 4, "CoopRejoined", rejoined_on="2022-01-01"),
    ]


def deliver(view: MembershipView, *envelopes: Envelope) -> None:
    for envelope in envelopes:
        with view.database.writing() as conn:
            view.apply(conn, envelope)


EXPECTED = [(date(2020, 1, 1), date(2021, 1, 1)), (date(2022, 1, 1), None)]


def test_the_view_follows_joins_departures_and_readmissions(view: MembershipView) -> None:
    cooperative_id = str(uuid4())

    deliver(view, *history(cooperative_id))

    assert view.periods(cooperative_id) == EXPECTED
    assert view.is_member_on(cooperative_id, date(2020, 6, 1))
    assert not view.is_member_on(cooperative_id, date(2021, 1, 1))
    assert view.is_member_on(cooperative_id, date(2022, 1, 1))
    assert not view.is_member_on(str(uuid4()), date(2022, 1, 1))


def test_every_event_delivered_again_changes_nothing(view: MembershipView) -> None:
    cooperative_id = str(uuid4())
    events = history(cooperative_id)
    deliver(view, *events)

    deliver(view, *events)
    deliver(view, events[2])
    deliver(view, events[0], events[3])

    assert view.periods(cooperative_id) == EXPECTED


def test_a_replay_from_the_middle_of_the_history_changes_nothing(view: MembershipView) -> None:
    cooperative_id = str(uuid4())
    events = history(cooperative_id)
    deliver(view, *events)

    deliver(view, *events[2:])

    assert view.periods(cooperative_id) == EXPECTED
