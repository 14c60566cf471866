"""The membership view follows corrections (§10): corrected periods, voids, restorations."""

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

D = date


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


def joined(cooperative_id: str) -> Envelope:
    profile = {"name": "C", "region": "06", "sector": "autre", "worker_members": None}
    return message(cooperative_id, 1, "CoopJoined", joined_on="2020-01-01", **profile)


def corrected(cooperative_id: str, version: int, *periods: tuple[str, str | None]) -> Envelope:
    return message(
        cooperative_id,
        version,
        "CoopMembershipCorrected",
        periods=[{"start": start, "end": end} for start, end in periods],
        reason="dates",
    )


def deliver(view: MembershipView, *envelopes: Envelope) -> None:
    for envelope in envelopes:
        with view.database.writing() as conn:
            view.apply(conn, envelope)


def test_a_correction_replaces_the_periods(view: MembershipView) -> None:
    cooperative_id = str(uuid4())

    deliver(
        view,
        joined(cooperative_id),
        corrected(cooperative_id, 2, ("2019-01-01", "2019-06-01"), ("2021-01-01", None)),
    )

    assert view.periods(cooperative_id) == [(D(2019, 1, 1), D(2019, 6, 1)), (D(2021, 1, 1), None)]
    assert not view.is_member_on(cooperative_id, D(2020, 6, 1))
    assert view.is_member_on(cooperative_id, D(2019, 2, 1))
    assert not view.is_voided(cooperative_id)


def test_a_voided_cooperative_is_a_member_on_no_date_until_restored(view: MembershipView) -> None:
    cooperative_id = str(uuid4())
    deliver(view, joined(cooperative_id))

    deliver(view, message(cooperative_id, 2, "CoopVoided", reason="doublon"))
    assert view.is_voided(cooperative_id)
    assert view.periods(cooperative_id) == []
    assert not view.is_member_on(cooperative_id, D(2022, 1, 1))

    deliver(view, message(cooperative_id, 3, "CoopRestored", reason=None))
    assert not view.is_voided(cooperative_id)
    assert view.periods(cooperative_id) == [(D(2020, 1, 1), None)]
    assert view.is_member_on(cooperative_id, D(2022, 1, 1))


def test_corrections_delivered_again_change_nothing(view: MembershipView) -> None:
    cooperative_id = str(uuid4())
    events = [
        joined(cooperative_id),
        corrected(cooperative_id, 2, ("2019-01-01", None)),
        message(cooperative_id, 3, "CoopVoided", reason="doublon"),
        message(cooperative_id, 4, "CoopRestored", reason=None),
        message(cooperative_id, 5, "CoopLeft", left_on="2023-01-01", reason=None),
    ]
    deliver(view, *events)

    deliver(view, *events)
    deliver(view, events[2])
    deliver(view, events[1])

    assert not view.is_voided(cooperative_id)
    assert view.periods(cooperative_id) == [(D(2019, 1, 1), D(2023, 1, 1))]


def test_a_correction_with_a_date_that_is_not_real_fails_and_changes_nothing(
    view: MembershipView,
) -> None:
    cooperative_id = str(uuid4())
    deliver(view, joined(cooperative_id))

    with pytest.raises(ValueError):
        deliver(view, corrected(cooperative_id, 2, ("2024-13-45", None)))

    assert view.periods(cooperative_id) == [(D(2020, 1, 1), None)]


def test_voiding_one_cooperative_leaves_the_others_members(view: MembershipView) -> None:
    voided, other = str(uuid4()), str(uuid4())
    deliver(view, joined(voided), joined(other))

    deliver(view, message(voided, 2, "CoopVoided", reason="doublon"))

    assert view.is_member_on(other, D(2021, 1, 1))
    assert not view.is_voided(other)
    assert not view.is_voided(str(uuid4()))
