"""Membership use cases: NEQ uniqueness among active members, versions, history."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from services.membership import views
from services.membership.application import Membership
from services.membership.domain import (
    AlreadyMemberError,
    CooperativeNotFoundError,
    NeqTakenError,
    ReadmissionDateError,
)
from shared.application import StaleVersionError
from shared.persistence import Database


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Membership]:
    """The membership application wired as its composition root wires it, on SQLite."""
    database = Database(f"sqlite:///{tmp_path / 'membership.sqlite3'}", app_name="membership")
    database.create_tables(views.metadata)
    membership = Membership(database)
    try:
        yield membership
    finally:
        membership.close()
        database.dispose()


def join(app: Membership, neq: str | None, on: date = date(2023, 1, 1)) -> UUID:
    cooperative_id = uuid4()
    app.join(
        cooperative_id,
        name="Coop",
        region="06",
        sector="microbrasserie",
        worker_members=5,
        joined_on=on,
        neq=neq,
    )
    return cooperative_id


def test_two_active_members_cannot_join_with_the_same_neq(app: Membership) -> None:
    join(app, "1170000000")

    with pytest.raises(NeqTakenError):
        join(app, "1170000000")

    assert app.recorder.max_notification_id() == 1


def test_cooperatives_without_a_neq_never_conflict(app: Membership) -> None:
    first, second = join(app, None), join(app, None)

    assert app.cooperative(first).neq is None
    assert app.cooperative(second).neq is None


def test_a_departed_cooperatives_neq_is_free_again(app: Membership) -> None:
    departed = join(app, "1170000000")
    app.leave(departed, left_on=date(2024, 1, 1), reason=None)

    successor = join(app, "1170000000")

    assert app.cooperative(successor).neq == "1170000000"


def test_a_profile_change_to_a_neq_an_active_member_holds_is_refused(app: Membership) -> None:
    join(app, "1170000000")
    other = join(app, "2220000000")

    with pytest.raises(NeqTakenError):
        app.update_profile(other, {"neq": "1170000000"})

    assert app.cooperative(other).neq == "2220000000"
    assert app.cooperative(other).version == 1


def test_a_profile_change_to_a_departed_members_neq_is_accepted(app: Membership) -> None:
    departed = join(app, "1170000000")
    app.leave(departed, left_on=date(2024, 1, 1), reason=None)
    other = join(app, None)

    app.update_profile(other, {"neq": "1170000000"})

    assert app.cooperative(other).neq == "1170000000"


def test_keeping_ones_own_neq_in_a_profile_change_is_not_a_conflict(app: Membership) -> None:
    cooperative_id = join(app, "1170000000")

    app.update_profile(cooperative_id, {"neq": "1170000000", "name": "Autre nom"})

    assert app.cooperative(cooperative_id).name == "Autre nom"
    assert app.cooperative(cooperative_id).version == 2


def test_readmission_is_refused_while_an_active_member_holds_the_neq(app: Membership) -> None:
    departed = join(app, "1170000000")
    app.leave(departed, left_on=date(2024, 1, 1), reason=None)
    join(app, "1170000000")

    with pytest.raises(NeqTakenError):
        app.rejoin(departed, rejoined_on=date(2024, 6, 1))

    assert not app.cooperative(departed).is_active


def test_a_taken_neq_is_refused_before_a_readmission_date_is_checked(app: Membership) -> None:
    departed = join(app, "1170000000")
    app.leave(departed, left_on=date(2024, 1, 1), reason=None)
    join(app, "1170000000")

    with pytest.raises(NeqTakenError):
        app.rejoin(departed, rejoined_on=date(2023, 6, 1))


def test_readmission_with_a_free_neq_reopens_membership(app: Membership) -> None:
    departed = join(app, "1170000000")
    app.leave(departed, left_on=date(2024, 1, 1), reason=None)

    app.rejoin(departed, rejoined_on=date(2024, 6, 1))

    cooperative = app.cooperative(departed)
    assert cooperative.is_active
    assert cooperative.version == 3


def test_readmission_of_an_active_member_is_a_conflict_even_with_its_own_neq(
    app: Membership,
) -> None:
    cooperative_id = join(app, "1170000000")

    with pytest.raises(AlreadyMemberError):
        app.rejoin(cooperative_id, rejoined_on=date(2024, 6, 1))


def test_readmission_before_left_on_is_refused(app: Membership) -> None:
    cooperative_id = join(app, None)
    app.leave(cooperative_id, left_on=date(2024, 1, 1), reason=None)

    with pytest.raises(ReadmissionDateError):
        app.rejoin(cooperative_id, rejoined_on=date(2023, 12, 31))


def test_a_change_against_a_stale_version_is_refused(app: Membership) -> None:
    cooperative_id = join(app, None)
    app.update_profile(cooperative_id, {"name": "v2"})

    with pytest.raises(StaleVersionError) as refused:
        app.update_profile(cooperative_id, {"name": "v3"}, expected_version=1)

    assert refused.value.current == 2
    assert app.cooperative(cooperative_id).name == "v2"


def test_an_unknown_cooperative_is_not_found(app: Membership) -> None:
    with pytest.raises(CooperativeNotFoundError):
        app.cooperative(uuid4())
    with pytest.raises(CooperativeNotFoundError):
        app.history(uuid4())


def test_history_lists_every_event_oldest_first(app: Membership) -> None:
    cooperative_id = join(app, None)
    app.update_profile(cooperative_id, {"worker_members": 9})
    app.leave(cooperative_id, left_on=date(2024, 1, 1), reason="fusion")
    app.rejoin(cooperative_id, rejoined_on=date(2024, 2, 1))

    history = app.history(cooperative_id)

    assert [type(e).__name__ for e in history] == ["Joined", "ProfileUpdated", "Left", "Rejoined"]
    assert [e.originator_version for e in history] == [1, 2, 3, 4]


def test_concurrent_joins_with_one_neq_admit_exactly_one_cooperative(app: Membership) -> None:
    def attempt(_: int) -> str:
        try:
            join(app, "1170000042")
        except NeqTakenError:
            return "taken"
        return "joined"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))

    assert sorted(outcomes) == ["joined"] + ["taken"] * 7
    assert app.recorder.max_notification_id() == 1


def test_a_second_process_sees_the_neq_claim_of_the_first(app: Membership) -> None:
    other = Membership(app.database)
    try:
        join(app, "1170000043")
        with pytest.raises(NeqTakenError):
            join(other, "1170000043")
    finally:
        other.close()
