"""The Activity aggregate's rules."""

from __future__ import annotations

import typing
from datetime import date
from uuid import uuid4

import pytest

from services.events import api, domain
from services.events.domain import Activity


def formation(**overrides: typing.Any) -> Activity:
    fields: dict[str, typing.Any] = {
        "type": "formation",
        "title": "Gouvernance démocratique",
        "held_on": date(2023, 11, 15),
        "format": "in_person",
        "region": "06",
    }
    fields.update(overrides)
    return Activity.schedule(uuid4(), **fields)


def test_a_scheduled_activity_has_no_attendance_and_no_partners_by_default() -> None:
    activity = formation()
    assert activity.status == "scheduled"
    assert activity.partners == []
    assert activity.member_attendances == 0
    assert activity.public_attendance == 0
    assert activity.version == 1


@pytest.mark.parametrize("activity_type", domain.ACTIVITY_TYPES)
def test_every_activity_type_of_the_network_can_be_scheduled(activity_type: str) -> None:
    assert formation(type=activity_type).type == activity_type


def test_an_unknown_activity_type_is_refused() -> None:
    with pytest.raises(domain.UnknownActivityTypeError):
        formation(type="webinaire")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(domain.UnknownFormatError):
        formation(format="virtual")


def test_a_blank_title_is_refused() -> None:
    with pytest.raises(domain.EmptyTitleError):
        formation(title="   ")


@pytest.mark.parametrize("activity_format", ["in_person", "hybrid"])
def test_region_is_required_unless_the_activity_is_remote(activity_format: str) -> None:
    with pytest.raises(domain.RegionRequiredError):
        formation(format=activity_format, region=None)


def test_a_remote_activity_needs_no_region_but_may_have_one() -> None:
    assert formation(format="remote", region=None).region is None
    assert formation(format="remote", region="01").region == "01"


@pytest.mark.parametrize("region", ["00", "18", "6", "Montréal"])
def test_a_region_that_is_not_a_quebec_code_is_refused(region: str) -> None:
    with pytest.raises(domain.RegionError):
        formation(region=region)


def test_an_attendance_records_the_cooperative_and_its_participants() -> None:
    activity = formation()
    cooperative_id = uuid4()
    record = activity.record_attendance(cooperative_id, 4)
    assert (record.activity_id, record.cooperative_id, record.participants) == (
        activity.id,
        cooperative_id,
        4,
    )
    assert activity.member_attendances == 1
    assert activity.version == 2


def test_the_attended_event_carries_the_activity_type_and_date() -> None:
    activity = formation(type="courtepointe")
    activity.record_attendance(uuid4())
    attended = activity.collect_events()[-1]
    assert isinstance(attended, Activity.Attended)
    assert (attended.activity_type, attended.activity_date) == ("courtepointe", date(2023, 11, 15))


def test_a_repeated_attendance_gives_the_existing_record_and_records_nothing() -> None:
    activity = formation()
    cooperative_id = uuid4()
    first = activity.record_attendance(cooperative_id, 2)
    activity.collect_events()
    again = activity.record_attendance(cooperative_id, 7)
    assert again == first
    assert activity.collect_events() == []
    assert activity.member_attendances == 1
    assert activity.version == 2


@pytest.mark.parametrize("participants", [0, -3])
def test_an_attendance_counts_at_least_one_participant(participants: int) -> None:
    with pytest.raises(domain.ParticipantsError):
        formation().record_attendance(uuid4(), participants)


def test_a_cancelled_activity_refuses_attendance() -> None:
    activity = formation()
    activity.cancel("tempête")
    with pytest.raises(domain.ActivityCancelledError):
        activity.record_attendance(uuid4())


def test_a_cancelled_activity_refuses_even_a_repeated_attendance() -> None:
    activity = formation()
    cooperative_id = uuid4()
    activity.record_attendance(cooperative_id)
    activity.cancel(None)
    with pytest.raises(domain.ActivityCancelledError):
        activity.record_attendance(cooperative_id)


def test_public_attendance_adds_up() -> None:
    activity = formation(type="cine_discussion")
    activity.record_public_attendance(uuid4(), 40, "01")
    record = activity.record_public_attendance(uuid4(), 25)
    assert activity.public_attendance == 65
    assert (record.count, record.region, record.activity_id) == (25, None, activity.id)
    assert activity.public_attendance_record(record.id) == record


@pytest.mark.parametrize("count", [0, -1])
def test_a_public_attendance_counts_at_least_one_person(count: int) -> None:
    with pytest.raises(domain.PublicCountError):
        formation().record_public_attendance(uuid4(), count)


def test_a_public_attendance_region_must_be_a_quebec_code() -> None:
    with pytest.raises(domain.RegionError):
        formation().record_public_attendance(uuid4(), 10, "99")


def test_a_cancelled_activity_refuses_public_attendance() -> None:
    activity = formation()
    activity.cancel(None)
    with pytest.raises(domain.ActivityCancelledError):
        activity.record_public_attendance(uuid4(), 10)


def test_an_activity_is_cancelled_once() -> None:
    activity = formation()
    activity.cancel("salle indisponible")
    assert activity.status == "cancelled"
    with pytest.raises(domain.AlreadyCancelledError):
        activity.cancel(None)
    assert activity.version == 2


def test_the_api_accepts_exactly_the_domain_types_and_formats() -> None:
    assert typing.get_args(api.ActivityType) == domain.ACTIVITY_TYPES
    assert typing.get_args(api.Format) == domain.FORMATS
