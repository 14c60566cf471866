"""Ambassadors use cases on a real SQLite store: enrollment, the departure policy, privacy."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError

from services.ambassadors import personal_data
from services.ambassadors.application import Ambassadors, PersonalDetails
from services.ambassadors.contracts import to_integration
from services.ambassadors.domain import (
    AmbassadorNotFoundError,
    CooperativeNotMemberError,
    ExternalRefTakenError,
    NotActiveError,
    PersonalDataErasedError,
)
from services.ambassadors.personal_data import PersonalDataStore
from services.ambassadors.views import ambassadors as ambassador_table
from shared.external_refs import KnownReference
from shared.persistence import event_context_table
from tests.unit.ambassadors.world import World, correct_membership, restore, void

JOINED = date(2023, 1, 10)


def published(world: World) -> list[tuple[str, dict[str, object]]]:
    """The integration events the relay would publish, in order."""
    notifications = world.app.recorder.select_notifications(1, 10_000)
    mapped = [to_integration(world.app.mapper.to_domain_event(n)) for n in notifications]
    return [m for m in mapped if m is not None]


def deactivations(world: World) -> list[dict[str, object]]:
    return [data for kind, data in published(world) if kind == "AmbassadorDeactivated"]


@pytest.mark.parametrize(
    "enrolled_on", [date(2023, 1, 9), date(2024, 3, 1), date(2024, 5, 1)], ids=str
)
def test_enrollment_is_refused_when_the_cooperative_is_not_active_on_the_date(
    world: World, enrolled_on: date
) -> None:
    cooperative = world.join(JOINED)
    world.leave(cooperative, date(2024, 3, 1))

    with pytest.raises(CooperativeNotMemberError):
        world.enroll(cooperative, enrolled_on)


def test_enrollment_for_a_cooperative_this_service_never_heard_of_is_refused(
    world: World,
) -> None:
    with pytest.raises(CooperativeNotMemberError):
        world.enroll(uuid.uuid4(), date(2023, 6, 1))


def test_a_refused_enrollment_stores_no_personal_details(world: World) -> None:
    with pytest.raises(CooperativeNotMemberError):
        world.enroll(uuid.uuid4(), date(2023, 6, 1))

    with world.database.reading() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(personal_data.personal_data)
            ).scalar()
            == 0
        )


def test_enrollment_of_an_active_cooperative_records_an_active_ambassador(world: World) -> None:
    cooperative = world.join(JOINED)

    ambassador_id = world.enroll(cooperative, date(2023, 6, 1))

    ambassador = world.app.ambassador(ambassador_id)
    assert (ambassador.status, ambassador.version) == ("active", 1)
    assert published(world) == [
        (
            "AmbassadorEnrolled",
            {
                "ambassador_id": str(ambassador_id),
                "cooperative_id": str(cooperative),
                "enrolled_on": "2023-06-01",
            },
        )
    ]


def test_personal_details_are_stored_with_the_enrollment_and_in_no_event(world: World) -> None:
    cooperative = world.join(JOINED)

    ambassador_id = world.enroll(
        cooperative, date(2023, 6, 1), name="Zéphyrine Quesnel-Brault", email="zqb@exemple.qc"
    )

    assert world.app.personal_details(ambassador_id) == PersonalDetails(
        "Zéphyrine Quesnel-Brault", "zqb@exemple.qc"
    )
    for notification in world.app.recorder.select_notifications(1, 10_000):
        assert b"Quesnel" not in notification.state
        assert b"zqb@" not in notification.state
    assert "Quesnel" not in repr(world.app.personal_details(ambassador_id))


def test_an_enrollment_the_store_refuses_leaves_the_personal_details_untouched(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 6, 1), name="Première", email=None)

    with pytest.raises(IntegrityError):
        world.app.enroll(
            ambassador_id,
            cooperative_id=cooperative,
            name="Seconde",
            email="seconde@exemple.qc",
            enrolled_on=date(2023, 6, 1),
        )

    assert world.app.personal_details(ambassador_id) == PersonalDetails("Première", None)
    assert world.app.ambassador(ambassador_id).version == 1


def test_erasure_shows_nulls_keeps_the_version_and_can_be_repeated(world: World) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 6, 1))
    kept = world.enroll(cooperative, date(2023, 6, 1), name="Gardée")

    world.app.erase_personal_details(ambassador_id)
    world.app.erase_personal_details(ambassador_id)

    assert world.app.personal_details(ambassador_id) == PersonalDetails(None, None)
    assert world.app.ambassador(ambassador_id).version == 1
    assert world.app.personal_details(kept).name == "Gardée"
    items, _ = world.listing.list(status=None, cooperative_id=str(cooperative), after=0, limit=9)
    assert [(i["name"], i["erased"]) for i in items] == [(None, True), ("Gardée", False)]


def test_enrollment_dated_before_a_departure_already_seen_is_deactivated_at_once(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    world.leave(cooperative, date(2024, 3, 1))

    ambassador_id = world.enroll(cooperative, date(2023, 9, 1))

    ambassador = world.app.ambassador(ambassador_id)
    assert (ambassador.status, ambassador.ended_on) == ("deactivated", date(2024, 3, 1))
    assert deactivations(world) == [
        {
            "ambassador_id": str(ambassador_id),
            "effective_on": "2024-03-01",
            "reason": "cooperative-left",
        }
    ]


def test_enrollment_between_the_policy_and_the_view_update_is_deactivated_at_once(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    departure = world.membership_event(
        "CoopLeft", str(cooperative), left_on="2024-03-01", reason=None
    )
    world.projection.prepare(departure)  # the policy ran; the view has not moved yet

    ambassador_id = world.enroll(cooperative, date(2023, 9, 1))
    with pytest.raises(CooperativeNotMemberError):
        world.enroll(cooperative, date(2024, 3, 1))

    assert world.app.ambassador(ambassador_id).ended_on == date(2024, 3, 1)


def test_departure_deactivates_each_active_ambassador_of_the_cooperative(world: World) -> None:
    cooperative, other = world.join(JOINED), world.join(JOINED)
    early = world.enroll(cooperative, date(2023, 2, 1))
    late = world.enroll(cooperative, date(2024, 3, 10))
    retired = world.enroll(cooperative, date(2023, 2, 1))
    world.app.retire(retired, retired_on=date(2023, 12, 1))
    elsewhere = world.enroll(other, date(2023, 2, 1))

    world.leave(cooperative, date(2024, 3, 1))

    assert world.app.ambassador(early).ended_on == date(2024, 3, 1)
    assert world.app.ambassador(late).ended_on == date(2024, 3, 10)
    assert world.app.ambassador(retired).status == "retired"
    assert world.app.ambassador(elsewhere).status == "active"
    assert sorted(str(d["ambassador_id"]) for d in deactivations(world)) == sorted(
        [str(early), str(late)]
    )


def test_a_redelivered_departure_changes_nothing(world: World) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 2, 1))
    departure = world.leave(cooperative, date(2024, 3, 1))
    before = world.app.recorder.max_notification_id()

    world.projection.prepare(departure)
    world.projection.prepare(departure)

    assert world.app.recorder.max_notification_id() == before
    assert len(deactivations(world)) == 1
    assert world.app.ambassador(ambassador_id).version == 2


def test_a_readmitted_cooperatives_deactivated_ambassadors_stay_deactivated(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    before = world.enroll(cooperative, date(2023, 2, 1))
    departure = world.leave(cooperative, date(2024, 3, 1))
    world.rejoin(cooperative, date(2024, 6, 1))

    after = world.enroll(cooperative, date(2024, 6, 15))
    world.projection.prepare(departure)  # a stale redelivery after the readmission

    assert world.app.ambassador(before).status == "deactivated"
    assert world.app.ambassador(after).status == "active"
    with pytest.raises(CooperativeNotMemberError):
        world.enroll(cooperative, date(2024, 4, 1))


def test_policy_events_are_caused_by_the_departure_and_share_its_correlation(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 2, 1))

    departure = world.leave(cooperative, date(2024, 3, 1))

    table = event_context_table
    with world.database.reading() as conn:
        row = conn.execute(
            sa.select(table).where(
                table.c.originator_id == str(ambassador_id), table.c.originator_version == 2
            )
        ).one()
    assert row.causation_id == departure.event_id
    assert row.correlation_id == departure.correlation_id


def test_retirement_of_a_deactivated_ambassador_is_a_conflict(world: World) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 2, 1))
    world.leave(cooperative, date(2024, 3, 1))

    with pytest.raises(NotActiveError):
        world.app.retire(ambassador_id, retired_on=date(2024, 4, 1))


def test_an_unknown_ambassador_is_not_found(world: World) -> None:
    with pytest.raises(AmbassadorNotFoundError):
        world.app.ambassador(uuid.uuid4())
    with pytest.raises(AmbassadorNotFoundError):
        world.app.personal_details(uuid.uuid4())


def test_a_cooperative_roster_is_not_an_ambassador(world: World) -> None:
    from services.ambassadors.domain import CooperativeRoster

    cooperative = world.join(JOINED)
    world.enroll(cooperative, date(2023, 2, 1))

    with pytest.raises(AmbassadorNotFoundError):
        world.app.ambassador(CooperativeRoster.id_for(cooperative))


def test_listed_documents_hold_no_personal_information_but_lists_show_it(world: World) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(
        cooperative, date(2023, 2, 1), name="Ophélie Vachon-Rioux", email="ovr@exemple.qc"
    )

    items, _ = world.listing.list(status=None, cooperative_id=None, after=0, limit=10)

    assert [(i["id"], i["name"], i["email"], i["erased"]) for i in items] == [
        (str(ambassador_id), "Ophélie Vachon-Rioux", "ovr@exemple.qc", False)
    ]
    with world.database.reading() as conn:
        stored = conn.execute(sa.select(ambassador_table.c.document)).scalars().all()
    assert len(stored) == 1
    assert "Vachon" not in stored[0]
    assert "ovr@" not in stored[0]


def test_erasure_leaves_no_copy_in_any_file_and_keeps_the_version(sqlite_world: World) -> None:
    world = sqlite_world
    cooperative = world.join(JOINED)
    for n in range(20):
        world.enroll(cooperative, date(2023, 2, 1), name=f"Voisin {n}", email=f"v{n}@exemple.qc")
    ambassador_id = world.enroll(
        cooperative, date(2023, 2, 1), name="Gwendoline Paquin-Ouellet", email="gpo@exemple.qc"
    )
    world.app.log_action(ambassador_id, kind="kiosque", performed_on=date(2023, 3, 1))
    version = world.app.ambassador(ambassador_id).version

    world.app.erase_personal_details(ambassador_id)
    world.app.erase_personal_details(ambassador_id)

    assert world.app.personal_details(ambassador_id) == PersonalDetails(None, None)
    assert world.app.ambassador(ambassador_id).version == version
    assert world.app.personal_details(world.enroll(cooperative, date(2023, 2, 1))).name
    for path in world.data_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"Paquin-Ouellet" not in content, path
            assert b"gpo@exemple.qc" not in content, path


class DepartureDuringTheCheck:
    """Membership periods whose reading lets another process apply a departure meanwhile."""

    def __init__(self, world: World, cooperative: uuid.UUID, left_on: date) -> None:
        self.world = world
        self.cooperative = cooperative
        self.left_on = left_on
        self.raced = False

    def standing(self, cooperative_id: str) -> tuple[list[tuple[date, date | None]], bool, int]:
        standing = self.world.projection.view.standing(cooperative_id)
        if not self.raced:
            self.raced = True
            departure = self.world.membership_event(
                "CoopLeft", cooperative_id, left_on=self.left_on.isoformat(), reason=None
            )
            self.world.projection.prepare(departure)
        return standing


def test_an_enrollment_racing_a_departure_in_another_process_is_retried_then_deactivated(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    world.enroll(cooperative, date(2023, 2, 1))
    racing = DepartureDuringTheCheck(world, cooperative, date(2024, 3, 1))
    other_process = Ambassadors(
        world.database,
        personal_data.recorder_env(world.database),
        membership=racing,
        personal=PersonalDataStore(world.database),
    )
    ambassador_id = uuid.uuid4()

    def enroll() -> None:
        other_process.enroll(
            ambassador_id,
            cooperative_id=cooperative,
            name="Course",
            email=None,
            enrolled_on=date(2023, 9, 1),
        )

    enroll()  # the roster moved under its first attempt; the second sees the departure

    assert world.app.ambassador(ambassador_id).ended_on == date(2024, 3, 1)
    assert world.app.personal_details(ambassador_id).name == "Course"
    other_process.close()


def history(world: World, ambassador_id: uuid.UUID) -> list[tuple[str, dict[str, object]]]:
    """The ambassador's integration events, oldest first."""
    return [m for e in world.app.history(ambassador_id) if (m := to_integration(e)) is not None]


def state(world: World, ambassador_id: uuid.UUID) -> tuple[str, date | None]:
    ambassador = world.app.ambassador(ambassador_id)
    return ambassador.status, ambassador.ended_on


def test_a_departure_corrected_away_reactivates_the_ambassadors_it_deactivated(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 6, 1))
    world.leave(cooperative, date(2024, 3, 1))
    assert state(world, ambassador_id) == ("deactivated", date(2024, 3, 1))

    correct_membership(world, cooperative, [(JOINED, None)])

    assert state(world, ambassador_id) == ("active", None)
    kind, data = history(world, ambassador_id)[-1]
    assert (kind, data["reason"]) == ("AmbassadorReactivated", "membership-corrected")
    world.enroll(cooperative, date(2024, 6, 1))  # the cooperative is a member again


def test_a_departure_moved_by_a_correction_moves_the_deactivation_once(world: World) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 6, 1))
    world.leave(cooperative, date(2024, 3, 1))

    envelope = correct_membership(world, cooperative, [(JOINED, date(2024, 5, 1))])
    world.deliver(envelope)  # delivered again: applied once

    assert state(world, ambassador_id) == ("deactivated", date(2024, 5, 1))
    assert [d["effective_on"] for d in deactivations(world)] == ["2024-03-01", "2024-05-01"]
    assert deactivations(world)[-1]["reason"] == "membership-corrected"


def test_a_correction_that_ends_an_enrollment_period_deactivates_on_its_end(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    early = world.enroll(cooperative, date(2023, 6, 1))
    late = world.enroll(cooperative, date(2024, 6, 1))

    correct_membership(world, cooperative, [(JOINED, date(2024, 1, 1))])

    assert state(world, early) == ("deactivated", date(2024, 1, 1))
    # §16.20: an enrollment now in no period ends on the enrollment day
    assert state(world, late) == ("deactivated", date(2024, 6, 1))


def test_a_void_deactivates_on_the_enrollment_and_a_restoration_reactivates(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 6, 1))
    retired = world.enroll(cooperative, date(2023, 6, 1))
    world.app.retire(retired, retired_on=date(2023, 9, 1))

    voided = void(world, cooperative)
    world.deliver(voided)

    assert state(world, ambassador_id) == ("deactivated", date(2023, 6, 1))
    assert deactivations(world)[-1]["reason"] == "cooperative-voided"
    assert state(world, retired) == ("retired", date(2023, 9, 1))
    with pytest.raises(CooperativeNotMemberError):
        world.enroll(cooperative, date(2023, 6, 1))

    restore(world, cooperative)

    assert state(world, ambassador_id) == ("active", None)
    assert state(world, retired) == ("retired", date(2023, 9, 1))
    assert len(deactivations(world)) == 1


def test_a_readmission_alone_reactivates_no_one(world: World) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 6, 1))
    world.leave(cooperative, date(2024, 3, 1))

    world.rejoin(cooperative, date(2024, 6, 1))

    assert state(world, ambassador_id) == ("deactivated", date(2024, 3, 1))


def test_an_enrollment_between_the_policy_and_the_view_judges_on_the_correction(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    envelope = world.membership_event(
        "CoopMembershipCorrected",
        str(cooperative),
        periods=[{"start": JOINED.isoformat(), "end": "2024-01-01"}],
        reason=None,
    )
    world.projection.prepare(envelope)  # the policy ran; the view has not moved yet

    with pytest.raises(CooperativeNotMemberError):
        world.enroll(cooperative, date(2024, 2, 1))
    ambassador_id = world.enroll(cooperative, date(2023, 6, 1))
    assert state(world, ambassador_id) == ("deactivated", date(2024, 1, 1))


def test_personal_details_change_without_an_event_and_not_once_erased(world: World) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 6, 1))
    version = world.app.ambassador(ambassador_id).version

    world.app.update(ambassador_id, {"email": "nouveau@exemple.qc"})

    assert world.app.personal_details(ambassador_id).email == "nouveau@exemple.qc"
    assert world.app.ambassador(ambassador_id).version == version
    world.app.erase_personal_details(ambassador_id)
    with pytest.raises(PersonalDataErasedError):
        world.app.update(ambassador_id, {"name": "Quelqu'un"})


def test_an_enrollment_correction_needs_the_cooperative_a_member_on_the_new_date(
    world: World,
) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 6, 1))

    with pytest.raises(CooperativeNotMemberError):
        world.app.update(ambassador_id, {"enrolled_on": date(2022, 6, 1)})
    world.app.update(ambassador_id, {"enrolled_on": date(2023, 2, 1)}, reason="date du contrat")

    assert world.app.ambassador(ambassador_id).enrolled_on == date(2023, 2, 1)
    assert history(world, ambassador_id)[-1] == (
        "AmbassadorEnrollmentCorrected",
        {
            "ambassador_id": str(ambassador_id),
            "enrolled_on": "2023-02-01",
            "reason": "date du contrat",
        },
    )


def test_a_reactivation_needs_the_cooperative_a_member_today(world: World) -> None:
    cooperative = world.join(JOINED)
    ambassador_id = world.enroll(cooperative, date(2023, 6, 1))
    world.app.retire(ambassador_id, retired_on=date(2023, 9, 1))
    world.leave(cooperative, date(2024, 3, 1))

    with pytest.raises(CooperativeNotMemberError):
        world.app.reactivate(ambassador_id)
    world.rejoin(cooperative, date(2024, 6, 1))
    world.app.reactivate(ambassador_id, reason="retraite annulée")

    assert state(world, ambassador_id) == ("active", None)


def test_an_external_reference_names_one_ambassador_and_one_action(world: World) -> None:
    cooperative = world.join(JOINED)
    first, second = uuid.uuid4(), uuid.uuid4()
    world.app.enroll(
        first,
        cooperative_id=cooperative,
        name="A",
        email=None,
        enrolled_on=date(2023, 6, 1),
        external_ref="AMB-1",
    )
    with pytest.raises(KnownReference) as known:
        world.app.enroll(
            second,
            cooperative_id=cooperative,
            name="B",
            email=None,
            enrolled_on=date(2023, 6, 1),
            external_ref="AMB-1",
        )
    assert known.value.holder == str(first)

    action = world.app.log_action(
        first, kind="kiosque", performed_on=date(2023, 7, 1), external_ref="ACT-1"
    )
    with pytest.raises(KnownReference) as again:
        world.app.log_action(
            first, kind="kiosque", performed_on=date(2023, 7, 1), external_ref="ACT-1"
        )
    assert again.value.holder == f"{first}/{action.id}"
    other = world.enroll(cooperative, date(2023, 6, 1))
    with pytest.raises(ExternalRefTakenError):
        world.app.log_action(
            other, kind="kiosque", performed_on=date(2023, 7, 1), external_ref="ACT-1"
        )
    assert len(world.app.ambassador(first).actions) == 1
