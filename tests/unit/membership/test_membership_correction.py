"""Membership corrections (contract §10): corrected periods, voids, restorations, NEQ claims."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.membership import views
from services.membership.application import Membership
from services.membership.domain import (
    AlreadyVoidedError,
    Cooperative,
    CooperativeVoidedError,
    NeqTakenError,
    NotVoidedError,
    Period,
    PeriodsError,
    period_errors,
)
from shared.application import StaleVersionError
from shared.persistence import Database

D = date


def joined(on: date = D(2020, 1, 1), **profile: Any) -> Cooperative:
    fields: dict[str, Any] = {
        "name": "Coop",
        "region": "06",
        "sector": "microbrasserie",
        "worker_members": 5,
        "neq": None,
        **profile,
    }
    return Cooperative(id=uuid4(), joined_on=on, **fields)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Membership]:
    database = Database(f"sqlite:///{tmp_path / 'membership.sqlite3'}", app_name="membership")
    database.create_tables(views.metadata)
    membership = Membership(database)
    try:
        yield membership
    finally:
        membership.close()
        database.dispose()


def join(app: Membership, neq: str | None, on: date = D(2020, 1, 1)) -> UUID:
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


# --- the rules over the list --------------------------------------------------------------


def test_a_valid_list_breaks_no_rule() -> None:
    periods = [Period(D(2020, 1, 1), D(2021, 1, 1)), Period(D(2021, 1, 1), None)]
    assert period_errors(periods) == []


def test_an_empty_list_is_refused_naming_periods() -> None:
    assert [field for field, _ in period_errors([])] == ["periods"]


def test_a_period_that_does_not_start_before_it_ends_is_named_by_its_end() -> None:
    periods = [Period(D(2020, 1, 1), D(2021, 1, 1)), Period(D(2022, 1, 1), D(2022, 1, 1))]
    assert [field for field, _ in period_errors(periods)] == ["periods[1].end"]


def test_a_period_other_than_the_last_without_end_is_named_by_its_end() -> None:
    periods = [Period(D(2020, 1, 1)), Period(D(2022, 1, 1))]
    assert "periods[0].end" in [field for field, _ in period_errors(periods)]


def test_periods_out_of_date_order_are_named_by_the_later_start() -> None:
    periods = [Period(D(2022, 1, 1), D(2023, 1, 1)), Period(D(2020, 1, 1), D(2021, 1, 1))]
    assert [field for field, _ in period_errors(periods)] == ["periods[1].start"]


def test_overlapping_periods_are_named_by_the_second_start() -> None:
    periods = [
        Period(D(2019, 1, 1), D(2019, 6, 1)),
        Period(D(2020, 1, 1), D(2021, 6, 1)),
        Period(D(2021, 1, 1), None),
    ]
    assert [field for field, _ in period_errors(periods)] == ["periods[2].start"]


def test_a_period_may_start_on_the_day_the_previous_one_ends() -> None:
    periods = [Period(D(2020, 1, 1), D(2021, 1, 1)), Period(D(2021, 1, 1), D(2021, 2, 1))]
    assert period_errors(periods) == []


# --- the aggregate ------------------------------------------------------------------------


def test_a_correction_replaces_the_periods_and_the_dates_follow() -> None:
    cooperative = joined(D(2020, 1, 1))
    cooperative.collect_events()

    cooperative.correct_membership(
        [Period(D(2019, 5, 1), D(2020, 3, 1)), Period(D(2021, 1, 1), D(2022, 1, 1))], "saisie"
    )

    assert cooperative.joined_on == D(2019, 5, 1)
    assert cooperative.left_on == D(2022, 1, 1)
    assert not cooperative.is_active
    assert cooperative.is_active_on(D(2021, 6, 1))
    assert not cooperative.is_active_on(D(2020, 6, 1))
    assert [type(e).__name__ for e in cooperative.collect_events()] == ["MembershipCorrected"]


def test_a_correction_that_changes_nothing_records_nothing() -> None:
    cooperative = joined(D(2020, 1, 1))
    cooperative.collect_events()

    cooperative.correct_membership([Period(D(2020, 1, 1))], "rien")

    assert cooperative.collect_events() == []
    assert cooperative.version == 1


def test_a_refused_correction_changes_nothing() -> None:
    cooperative = joined(D(2020, 1, 1))

    with pytest.raises(PeriodsError) as refused:
        cooperative.correct_membership([Period(D(2021, 1, 1)), Period(D(2022, 1, 1))], None)

    assert refused.value.errors[0][0] == "periods[0].end"
    assert cooperative.periods == [Period(D(2020, 1, 1))]


# --- the application ----------------------------------------------------------------------


def test_a_stored_correction_reads_back_with_its_periods(app: Membership) -> None:
    cooperative_id = join(app, None)
    corrected = [Period(D(2019, 1, 1), D(2020, 1, 1)), Period(D(2021, 1, 1))]

    _, changed = app.correct_membership(cooperative_id, periods=corrected, reason="dates")

    assert changed
    assert app.cooperative(cooperative_id).periods == corrected
    assert app.cooperative(cooperative_id).version == 2


def test_a_correction_that_ends_the_last_period_frees_the_neq(app: Membership) -> None:
    first = join(app, "1170000000")
    app.correct_membership(first, periods=[Period(D(2020, 1, 1), D(2021, 1, 1))], reason=None)

    second = join(app, "1170000000")

    assert app.cooperative(second).neq == "1170000000"


def test_a_correction_that_leaves_it_active_with_a_taken_neq_is_409(app: Membership) -> None:
    first = join(app, "1170000000")
    app.leave(first, left_on=D(2021, 1, 1), reason=None)
    join(app, "1170000000")

    with pytest.raises(NeqTakenError):
        app.correct_membership(first, periods=[Period(D(2020, 1, 1))], reason=None)

    assert app.cooperative(first).version == 2


def test_the_neq_conflict_is_answered_before_the_rules_over_the_list(app: Membership) -> None:
    first = join(app, "1170000000")
    app.leave(first, left_on=D(2021, 1, 1), reason=None)
    join(app, "1170000000")
    broken = [Period(D(2020, 1, 1)), Period(D(2019, 1, 1))]

    with pytest.raises(NeqTakenError):
        app.correct_membership(first, periods=broken, reason=None)


def test_a_correction_that_reopens_membership_takes_the_neq_again(app: Membership) -> None:
    first = join(app, "1170000000")
    app.leave(first, left_on=D(2021, 1, 1), reason=None)
    app.correct_membership(first, periods=[Period(D(2020, 1, 1))], reason=None)

    with pytest.raises(NeqTakenError):
        join(app, "1170000000")


def test_a_stale_expected_version_is_refused_before_anything_else(app: Membership) -> None:
    cooperative_id = join(app, None)

    with pytest.raises(StaleVersionError):
        app.correct_membership(cooperative_id, periods=[], reason=None, expected_version=3)


def test_a_correction_that_changes_nothing_is_not_recorded(app: Membership) -> None:
    cooperative_id = join(app, None)

    _, changed = app.correct_membership(cooperative_id, periods=[Period(D(2020, 1, 1))], reason="x")

    assert not changed
    assert app.recorder.max_notification_id() == 1


# --- void and restoration -----------------------------------------------------------------


def test_a_voided_cooperative_has_status_voided_and_keeps_its_periods() -> None:
    cooperative = joined(D(2020, 1, 1))

    cooperative.void("doublon")

    assert cooperative.status == "voided"
    assert cooperative.periods == [Period(D(2020, 1, 1))]


def test_voiding_twice_is_refused() -> None:
    cooperative = joined()
    cooperative.void("doublon")

    with pytest.raises(AlreadyVoidedError):
        cooperative.void("encore")


def test_a_voided_cooperative_takes_no_change_but_its_restoration() -> None:
    cooperative = joined(D(2020, 1, 1))
    cooperative.void("doublon")

    with pytest.raises(CooperativeVoidedError):
        cooperative.update_profile({"name": "Autre"})
    with pytest.raises(CooperativeVoidedError):
        cooperative.leave(D(2021, 1, 1), None)
    with pytest.raises(CooperativeVoidedError):
        cooperative.correct_membership([Period(D(2020, 1, 1))], None)
    cooperative.restore("erreur")

    assert cooperative.status == "active"
    assert cooperative.version == 3


def test_a_cooperative_that_is_not_voided_cannot_be_restored() -> None:
    with pytest.raises(NotVoidedError):
        joined().restore(None)


def test_a_voided_left_cooperative_cannot_rejoin() -> None:
    cooperative = joined(D(2020, 1, 1))
    cooperative.leave(D(2021, 1, 1), None)
    cooperative.void("jamais membre")

    with pytest.raises(CooperativeVoidedError):
        cooperative.rejoin(D(2022, 1, 1))


def test_voiding_frees_the_neq_and_restoring_takes_it_again(app: Membership) -> None:
    first = join(app, "1170000000")
    app.void(first, reason="doublon")
    second = join(app, "1170000000")

    with pytest.raises(NeqTakenError):
        app.restore(first, reason=None)

    app.leave(second, left_on=D(2022, 1, 1), reason=None)
    restored = app.restore(first, reason="pas un doublon")
    assert restored.status == "active"
    with pytest.raises(NeqTakenError):
        join(app, "1170000000")


def test_restoring_a_left_cooperative_claims_no_neq(app: Membership) -> None:
    first = join(app, "1170000000")
    app.leave(first, left_on=D(2021, 1, 1), reason=None)
    app.void(first, reason="doublon")
    join(app, "1170000000")

    assert app.restore(first, reason=None).status == "left"


def test_a_voided_cooperative_refuses_before_its_neq_conflict_on_readmission(
    app: Membership,
) -> None:
    first = join(app, "1170000000")
    app.leave(first, left_on=D(2021, 1, 1), reason=None)
    app.void(first, reason="doublon")
    join(app, "1170000000")

    with pytest.raises(CooperativeVoidedError):
        app.rejoin(first, rejoined_on=D(2022, 1, 1))
