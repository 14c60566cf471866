"""The Cooperative aggregate: membership periods, departures, readmissions, profile changes."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import pytest

from services.membership.domain import (
    AlreadyLeftError,
    AlreadyMemberError,
    Cooperative,
    DepartureDateError,
    Period,
    ReadmissionDateError,
)


def joined(on: date = date(2023, 5, 14), **profile: Any) -> Cooperative:
    fields: dict[str, Any] = {
        "name": "Coop de travail Exemple",
        "region": "06",
        "sector": "microbrasserie",
        "worker_members": 12,
        "neq": "1170000000",
        **profile,
    }
    return Cooperative(id=uuid4(), joined_on=on, **fields)


def event_names(cooperative: Cooperative) -> list[str]:
    return [type(e).__name__ for e in cooperative.collect_events()]


def test_a_new_member_has_one_open_period_starting_on_its_joining_date() -> None:
    cooperative = joined(date(2023, 5, 14))

    assert cooperative.periods == [Period(date(2023, 5, 14))]
    assert cooperative.joined_on == date(2023, 5, 14)
    assert cooperative.left_on is None
    assert cooperative.is_active
    assert cooperative.version == 1
    assert event_names(cooperative) == ["Joined"]


def test_departure_closes_the_current_period_on_left_on() -> None:
    cooperative = joined(date(2023, 5, 14))

    cooperative.leave(date(2024, 1, 31), "fermeture")

    assert cooperative.periods == [Period(date(2023, 5, 14), date(2024, 1, 31))]
    assert cooperative.left_on == date(2024, 1, 31)
    assert not cooperative.is_active
    assert cooperative.version == 2


def test_left_on_is_the_first_day_the_cooperative_is_no_longer_a_member() -> None:
    cooperative = joined(date(2023, 5, 14))
    cooperative.leave(date(2024, 1, 31), None)

    assert not cooperative.is_active_on(date(2023, 5, 13))
    assert cooperative.is_active_on(date(2023, 5, 14))
    assert cooperative.is_active_on(date(2024, 1, 30))
    assert not cooperative.is_active_on(date(2024, 1, 31))


@pytest.mark.parametrize("left_on", [date(2023, 5, 14), date(2023, 5, 13), date(2020, 1, 1)])
def test_departure_on_or_before_the_current_period_start_is_refused(left_on: date) -> None:
    cooperative = joined(date(2023, 5, 14))

    with pytest.raises(DepartureDateError):
        cooperative.leave(left_on, None)

    assert cooperative.is_active
    assert cooperative.version == 1


def test_departure_must_be_after_the_start_of_the_current_period_not_the_first() -> None:
    cooperative = joined(date(2020, 1, 1))
    cooperative.leave(date(2021, 1, 1), None)
    cooperative.rejoin(date(2023, 1, 1))

    with pytest.raises(DepartureDateError):
        cooperative.leave(date(2022, 6, 1), None)
    cooperative.leave(date(2023, 1, 2), None)

    assert cooperative.left_on == date(2023, 1, 2)


def test_a_cooperative_that_already_left_cannot_leave_again() -> None:
    cooperative = joined(date(2023, 5, 14))
    cooperative.leave(date(2024, 1, 31), None)

    with pytest.raises(AlreadyLeftError):
        cooperative.leave(date(2025, 1, 1), None)

    assert cooperative.version == 2


def test_an_active_member_cannot_be_readmitted() -> None:
    cooperative = joined(date(2023, 5, 14))

    with pytest.raises(AlreadyMemberError):
        cooperative.rejoin(date(2024, 1, 1))

    assert cooperative.version == 1


def test_readmission_before_the_departure_is_refused() -> None:
    cooperative = joined(date(2023, 5, 14))
    cooperative.leave(date(2024, 1, 31), None)

    with pytest.raises(ReadmissionDateError):
        cooperative.rejoin(date(2024, 1, 30))

    assert not cooperative.is_active
    assert cooperative.version == 2


def test_readmission_opens_a_new_period_and_may_start_on_the_departure_day() -> None:
    cooperative = joined(date(2023, 5, 14))
    cooperative.leave(date(2024, 1, 31), None)

    cooperative.rejoin(date(2024, 1, 31))

    assert cooperative.periods == [
        Period(date(2023, 5, 14), date(2024, 1, 31)),
        Period(date(2024, 1, 31)),
    ]
    assert cooperative.joined_on == date(2023, 5, 14)
    assert cooperative.left_on is None
    assert cooperative.is_active
    assert cooperative.is_active_on(date(2024, 1, 31))
    assert event_names(cooperative) == ["Joined", "Left", "Rejoined"]


def test_periods_list_every_membership_oldest_first() -> None:
    cooperative = joined(date(2019, 3, 1))
    cooperative.leave(date(2020, 3, 1), None)
    cooperative.rejoin(date(2021, 3, 1))
    cooperative.leave(date(2022, 3, 1), None)

    assert cooperative.periods == [
        Period(date(2019, 3, 1), date(2020, 3, 1)),
        Period(date(2021, 3, 1), date(2022, 3, 1)),
    ]
    assert cooperative.left_on == date(2022, 3, 1)
    assert not cooperative.is_active_on(date(2020, 9, 1))
    assert cooperative.is_active_on(date(2021, 9, 1))


def test_a_profile_change_records_only_the_fields_that_changed() -> None:
    cooperative = joined(name="Ancien nom", region="06", worker_members=12)

    cooperative.update_profile({"name": "Nouveau nom", "region": "06", "worker_members": 12})

    events = cooperative.collect_events()
    assert [type(e).__name__ for e in events] == ["Joined", "ProfileUpdated"]
    assert events[-1].changes == {"name": "Nouveau nom"}  # type: ignore[attr-defined]
    assert cooperative.name == "Nouveau nom"
    assert cooperative.version == 2


def test_a_profile_change_that_changes_nothing_records_no_event() -> None:
    cooperative = joined(name="Même nom", sector="microbrasserie")

    cooperative.update_profile({"name": "Même nom", "sector": "microbrasserie"})

    assert event_names(cooperative) == ["Joined"]
    assert cooperative.version == 1


def test_a_profile_change_may_clear_the_neq_and_ignores_unknown_fields() -> None:
    cooperative = joined(neq="1170000000")

    assert cooperative.profile_changes({"neq": None, "joined_on": "2020-01-01"}) == {"neq": None}
    cooperative.update_profile({"neq": None, "id": "ignored"})

    assert cooperative.neq is None
    assert cooperative.joined_on == date(2023, 5, 14)
