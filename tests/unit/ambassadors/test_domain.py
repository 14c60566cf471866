"""Ambassador rules: enrollment, actions, retirement, and the departure policy's dates."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.ambassadors.domain import (
    CORRECTION_REASON,
    VOID_REASON,
    ActionDateError,
    ActionKindError,
    ActionNotFoundError,
    AlreadyActiveError,
    AlreadyWithdrawnError,
    Ambassador,
    AmbassadorEndedError,
    CooperativeRoster,
    EnrollmentDateError,
    NotActiveError,
    PeopleReachedError,
    RetirementDateError,
    Standing,
    mandate_end,
)
from shared.integration import event_id_for

ENROLLED = date(2023, 6, 1)


def enrolled() -> Ambassador:
    return Ambassador(id=uuid4(), cooperative_id=uuid4(), enrolled_on=ENROLLED)


def event_names(ambassador: Ambassador) -> list[str]:
    return [type(e).__name__ for e in ambassador.collect_events()]


def test_an_enrolled_ambassador_is_active_with_no_actions_at_version_one() -> None:
    ambassador = enrolled()

    assert ambassador.status == "active"
    assert ambassador.ended_on is None
    assert ambassador.actions == []
    assert ambassador.version == 1


def test_an_enrollment_event_holds_no_personal_information() -> None:
    ambassador = enrolled()

    (event,) = ambassador.collect_events()

    assert set(vars(event)) == {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "cooperative_id",
        "enrolled_on",
        "external_ref",
    }


def test_an_action_is_recorded_with_its_details_and_counts() -> None:
    ambassador = enrolled()
    activity = uuid4()

    action = ambassador.log_action(uuid4(), "cine_discussion", date(2023, 10, 12), activity, 40)

    assert (action.kind, action.performed_on, action.activity_id, action.people_reached) == (
        "cine_discussion",
        date(2023, 10, 12),
        activity,
        40,
    )
    assert len(ambassador.actions) == 1
    assert ambassador.version == 2
    assert ambassador.action(action.id) == action


def test_an_action_on_the_enrollment_day_is_accepted() -> None:
    ambassador = enrolled()

    ambassador.log_action(uuid4(), "kiosque", ENROLLED)

    assert len(ambassador.actions) == 1


def test_an_action_dated_before_the_enrollment_is_refused() -> None:
    with pytest.raises(ActionDateError):
        enrolled().log_action(uuid4(), "presentation", date(2023, 5, 31))


def test_an_action_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ActionKindError):
        enrolled().log_action(uuid4(), "podcast", date(2023, 7, 1))


def test_a_negative_number_of_people_reached_is_refused() -> None:
    with pytest.raises(PeopleReachedError):
        enrolled().log_action(uuid4(), "mentorat", date(2023, 7, 1), None, -1)


@pytest.mark.parametrize("performed_on", [date(2024, 1, 1), date(2024, 3, 1)])
def test_an_action_on_or_after_the_day_a_retired_ambassador_ended_is_a_conflict(
    performed_on: date,
) -> None:
    ambassador = enrolled()
    ambassador.retire(date(2024, 1, 1))

    with pytest.raises(AmbassadorEndedError):
        ambassador.log_action(uuid4(), "autre", performed_on)


def test_an_action_on_the_deactivation_day_is_a_conflict() -> None:
    ambassador = enrolled()
    ambassador.deactivate(date(2024, 2, 1))

    with pytest.raises(AmbassadorEndedError):
        ambassador.log_action(uuid4(), "autre", date(2024, 2, 1))


def test_an_action_performed_before_the_end_may_be_recorded_late() -> None:
    ambassador = enrolled()
    ambassador.retire(date(2024, 1, 1))

    ambassador.log_action(uuid4(), "presentation", date(2023, 12, 31))

    assert len(ambassador.actions) == 1


def test_retirement_ends_the_mandate_on_its_date() -> None:
    ambassador = enrolled()

    ambassador.retire(date(2024, 1, 15))

    assert ambassador.status == "retired"
    assert ambassador.ended_on == date(2024, 1, 15)
    assert event_names(ambassador) == ["Enrolled", "Retired"]


def test_retirement_on_the_enrollment_day_is_accepted() -> None:
    ambassador = enrolled()

    ambassador.retire(ENROLLED)

    assert ambassador.ended_on == ENROLLED


def test_retirement_dated_before_the_enrollment_is_refused() -> None:
    with pytest.raises(RetirementDateError):
        enrolled().retire(date(2023, 5, 31))


def test_an_ambassador_who_retired_cannot_retire_again() -> None:
    ambassador = enrolled()
    ambassador.retire(date(2024, 1, 1))

    with pytest.raises(NotActiveError):
        ambassador.retire(date(2024, 2, 1))


def test_a_deactivated_ambassador_cannot_retire() -> None:
    ambassador = enrolled()
    ambassador.deactivate(date(2024, 1, 1))

    with pytest.raises(NotActiveError):
        ambassador.retire(date(2024, 2, 1))


def test_deactivation_takes_effect_on_the_day_the_cooperative_left() -> None:
    ambassador = enrolled()

    assert ambassador.deactivate(date(2024, 3, 1))

    assert ambassador.status == "deactivated"
    assert ambassador.ended_on == date(2024, 3, 1)


def test_deactivation_takes_effect_on_the_enrollment_when_it_is_after_the_departure() -> None:
    ambassador = enrolled()

    ambassador.deactivate(date(2023, 1, 1))

    assert ambassador.ended_on == ENROLLED


def test_deactivation_is_recorded_once_however_often_it_is_asked() -> None:
    ambassador = enrolled()

    assert ambassador.deactivate(date(2024, 3, 1))
    assert not ambassador.deactivate(date(2024, 4, 1))

    assert event_names(ambassador) == ["Enrolled", "Deactivated"]
    assert ambassador.ended_on == date(2024, 3, 1)


def test_deactivation_leaves_a_retired_ambassador_alone() -> None:
    ambassador = enrolled()
    ambassador.retire(date(2024, 1, 1))

    assert not ambassador.deactivate(date(2024, 3, 1))

    assert ambassador.status == "retired"
    assert ambassador.ended_on == date(2024, 1, 1)


def test_a_roster_remembers_the_changes_it_acted_on_and_the_standing_they_made() -> None:
    roster = CooperativeRoster.open(uuid4())
    roster.note_departure("first-release", date(2022, 1, 1))
    roster.note_change("b", Standing([(date(2020, 1, 1), date(2024, 3, 1))], False, 7))

    assert roster.has_noted("first-release")
    assert roster.has_noted("b")
    assert not roster.has_noted("c")
    older_view = Standing([(date(2020, 1, 1), None)], False, 6)
    newer_view = Standing([(date(2020, 1, 1), None)], False, 8)
    assert roster.newer_standing(older_view).periods == [(date(2020, 1, 1), date(2024, 3, 1))]
    assert roster.newer_standing(newer_view) is newer_view


def test_a_roster_has_one_id_per_cooperative() -> None:
    cooperative = uuid4()

    assert CooperativeRoster.open(cooperative).id == CooperativeRoster.id_for(cooperative)
    assert CooperativeRoster.id_for(cooperative) != CooperativeRoster.id_for(uuid4())


PERIODS = [(date(2020, 1, 1), date(2021, 1, 1)), (date(2022, 1, 1), None)]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 12, 31), (False, None)),
        (date(2020, 1, 1), (True, date(2021, 1, 1))),
        (date(2020, 12, 31), (True, date(2021, 1, 1))),
        (date(2021, 1, 1), (False, None)),
        (date(2021, 6, 1), (False, None)),
        (date(2022, 1, 1), (True, None)),
        (date(2030, 1, 1), (True, None)),
    ],
)
def test_membership_on_a_day_follows_the_periods(
    day: date, expected: tuple[bool, date | None]
) -> None:
    assert Standing(PERIODS).membership_on(day) == expected


def test_a_voided_cooperative_is_a_member_on_no_date() -> None:
    assert Standing(PERIODS, voided=True).membership_on(date(2022, 6, 1)) == (False, None)


@pytest.mark.parametrize(
    ("enrolled_on", "voided", "expected"),
    [
        # the earliest end on or after the enrollment
        (date(2020, 6, 1), False, date(2021, 1, 1)),
        # no end after it: the mandate runs on
        (date(2022, 6, 1), False, None),
        # §16.20: an enrollment in no period ends on the enrollment
        (date(2021, 6, 1), False, date(2021, 6, 1)),
        # voided: deactivated on the enrollment
        (date(2022, 6, 1), True, date(2022, 6, 1)),
    ],
)
def test_the_policy_ends_a_mandate_as_the_corrected_history_says(
    enrolled_on: date, voided: bool, expected: date | None
) -> None:
    assert mandate_end(PERIODS, voided, enrolled_on) == expected


def logged(ambassador: Ambassador, **fields: object) -> UUID:
    values: dict[str, Any] = {"kind": "kiosque", "performed_on": date(2023, 7, 1), **fields}
    return ambassador.log_action(uuid4(), **values).id


def test_an_action_correction_holds_the_whole_corrected_action() -> None:
    ambassador = enrolled()
    action_id = logged(ambassador, people_reached=10)
    ambassador.collect_events()

    assert ambassador.correct_action(action_id, {"people_reached": 100}, "faute de frappe")

    (event,) = ambassador.collect_events()
    assert isinstance(event, Ambassador.ActionCorrected)
    assert (event.kind, event.performed_on, event.people_reached, event.reason) == (
        "kiosque",
        date(2023, 7, 1),
        100,
        "faute de frappe",
    )
    assert ambassador.logged_action(action_id).people_reached == 100


def test_an_action_correction_that_changes_nothing_records_nothing() -> None:
    ambassador = enrolled()
    action_id = logged(ambassador)
    ambassador.collect_events()

    assert not ambassador.correct_action(action_id, {"kind": "kiosque"})
    assert ambassador.collect_events() == []


def test_the_rules_of_an_action_hold_on_the_corrected_action() -> None:
    ambassador = enrolled()
    action_id = logged(ambassador)
    ambassador.retire(date(2024, 1, 1))

    with pytest.raises(ActionDateError):
        ambassador.correct_action(action_id, {"performed_on": date(2023, 5, 1)})
    with pytest.raises(AmbassadorEndedError):
        ambassador.correct_action(action_id, {"performed_on": date(2024, 1, 1)})
    with pytest.raises(PeopleReachedError):
        ambassador.correct_action(action_id, {"people_reached": -1})


def test_a_withdrawn_action_counts_nowhere_and_cannot_be_withdrawn_again() -> None:
    ambassador = enrolled()
    kept, withdrawn = logged(ambassador), logged(ambassador, kind="mentorat")

    ambassador.withdraw_action(withdrawn, "saisie en double")

    assert [a.id for a in ambassador.actions] == [kept]
    assert ambassador.action(withdrawn) is not None  # its reference still names it
    with pytest.raises(AlreadyWithdrawnError):
        ambassador.withdraw_action(withdrawn)
    with pytest.raises(AlreadyWithdrawnError):
        ambassador.correct_action(withdrawn, {"people_reached": 3})
    with pytest.raises(ActionNotFoundError):
        ambassador.withdraw_action(uuid4())


def test_an_enrollment_correction_may_not_fall_after_an_action_or_on_the_end() -> None:
    ambassador = enrolled()
    logged(ambassador, performed_on=date(2023, 7, 1))
    ambassador.retire(date(2023, 12, 1))

    with pytest.raises(EnrollmentDateError):
        ambassador.correct_enrollment(date(2023, 7, 2))
    assert ambassador.correct_enrollment(date(2023, 7, 1))
    assert not ambassador.correct_enrollment(date(2023, 7, 1))
    ambassador.withdraw_action(ambassador.actions[0].id)
    with pytest.raises(EnrollmentDateError):
        ambassador.correct_enrollment(date(2023, 12, 1))


def test_a_reactivation_undoes_the_end_as_if_it_never_happened() -> None:
    ambassador = enrolled()
    ambassador.retire(date(2024, 1, 1))

    ambassador.reactivate("retraite saisie par erreur")

    assert (ambassador.status, ambassador.ended_on) == ("active", None)
    with pytest.raises(AlreadyActiveError):
        ambassador.reactivate()


def test_following_a_corrected_membership_changes_the_mandate_once() -> None:
    ambassador = enrolled()  # enrolled 2023-06-01
    periods = [(date(2020, 1, 1), date(2024, 3, 1))]

    assert ambassador.follow_membership(periods, False, CORRECTION_REASON)
    assert (ambassador.status, ambassador.ended_on) == ("deactivated", date(2024, 3, 1))
    assert not ambassador.follow_membership(periods, False, CORRECTION_REASON)

    moved = [(date(2020, 1, 1), date(2024, 5, 1))]
    assert ambassador.follow_membership(moved, False, CORRECTION_REASON)
    assert ambassador.ended_on == date(2024, 5, 1)

    assert ambassador.follow_membership([(date(2020, 1, 1), None)], False, CORRECTION_REASON)
    assert (ambassador.status, ambassador.ended_on) == ("active", None)
    names = [type(e).__name__ for e in ambassador.collect_events()]
    assert names[-3:] == ["Deactivated", "Deactivated", "Reactivated"]


def test_a_retired_ambassador_is_left_alone_by_membership_corrections() -> None:
    ambassador = enrolled()
    ambassador.retire(date(2023, 9, 1))

    assert not ambassador.follow_membership([], True, VOID_REASON)
    assert (ambassador.status, ambassador.ended_on) == ("retired", date(2023, 9, 1))


def test_a_version_1_action_takes_the_event_id_of_its_message_as_its_id() -> None:
    state = {
        "originator_id": uuid4(),
        "originator_version": 3,
        "action_id": uuid4(),
        "kind": "kiosque",
    }

    Ambassador.ActionLogged.upcast_v1_v2(state)

    assert str(state["action_id"]) == event_id_for(state["originator_id"], 3)
    assert state["external_ref"] is None
