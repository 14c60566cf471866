"""The events use cases, on real event stores, with a stand-in for the membership view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from services.events import domain, views
from services.events.application import Events
from services.events.contracts import to_integration
from shared.contracts.events import EVENTS
from shared.persistence import Database

NOVEMBER_FORMATION = date(2023, 11, 15)


class Members:
    """Cooperatives that are members on every date in their period [start, end)."""

    def __init__(self) -> None:
        self.periods: dict[str, tuple[date, date | None]] = {}
        self.asked = 0

    def is_member_on(self, cooperative_id: str, day: date) -> bool:
        self.asked += 1
        period = self.periods.get(cooperative_id)
        return period is not None and period[0] <= day and (period[1] is None or day < period[1])


@pytest.fixture
def members() -> Members:
    return Members()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def events(request: pytest.FixtureRequest, tmp_path: Path, members: Members) -> Iterator[Events]:
    """The application on SQLite, and on PostgreSQL when COOP_TEST_POSTGRES_URL is set."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_database_url")
    else:
        url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    database = Database(url, app_name="events")
    database.create_tables(views.metadata)
    app = Events(database, members)
    yield app
    app.close()
    database.dispose()


def schedule(events: Events, **overrides: object) -> UUID:
    fields: dict[str, object] = {
        "type": "formation",
        "title": "Gestion participative",
        "held_on": NOVEMBER_FORMATION,
        "format": "in_person",
        "region": "03",
        "partners": ["CDR Québec-Appalaches"],
    }
    fields.update(overrides)
    activity_id = uuid4()
    events.schedule(activity_id, **fields)  # type: ignore[arg-type]
    return activity_id


def member(members: Members, start: date, end: date | None = None) -> UUID:
    cooperative_id = uuid4()
    members.periods[str(cooperative_id)] = (start, end)
    return cooperative_id


def test_a_scheduled_activity_is_read_back_from_the_store(events: Events) -> None:
    activity_id = schedule(events)
    activity = events.activity(activity_id)
    assert (activity.held_on, activity.partners, activity.version) == (
        NOVEMBER_FORMATION,
        ["CDR Québec-Appalaches"],
        1,
    )


def test_an_unknown_activity_is_not_found(events: Events) -> None:
    with pytest.raises(domain.ActivityNotFoundError):
        events.activity(uuid4())


def test_a_member_on_the_activity_date_attends(events: Events, members: Members) -> None:
    activity_id = schedule(events)
    cooperative_id = member(members, date(2020, 1, 1))
    record, created = events.attend(activity_id, cooperative_id, participants=3)
    assert created
    assert events.attendance(activity_id, cooperative_id) == record
    assert events.activity(activity_id).member_attendances == 1


def test_a_cooperative_that_left_in_january_still_attended_in_november(
    events: Events, members: Members
) -> None:
    activity_id = schedule(events)
    cooperative_id = member(members, date(2022, 5, 1), end=date(2024, 1, 10))
    _, created = events.attend(activity_id, cooperative_id)
    assert created


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2023, 11, 16), None),  # joined the day after
        (date(2022, 1, 1), date(2023, 11, 15)),  # left_on is the first day as a non-member
        (date(2022, 1, 1), date(2023, 6, 1)),
    ],
)
def test_a_cooperative_not_member_on_the_activity_date_is_refused(
    events: Events, members: Members, start: date, end: date | None
) -> None:
    activity_id = schedule(events)
    with pytest.raises(domain.CooperativeNotMemberError):
        events.attend(activity_id, member(members, start, end))


def test_an_unknown_cooperative_is_refused_as_not_a_member(events: Events) -> None:
    with pytest.raises(domain.CooperativeNotMemberError):
        events.attend(schedule(events), uuid4())


def test_a_repeated_attendance_answers_the_existing_record_without_asking_membership(
    events: Events, members: Members
) -> None:
    activity_id = schedule(events)
    cooperative_id = member(members, date(2020, 1, 1))
    first, _ = events.attend(activity_id, cooperative_id, participants=2)
    del members.periods[str(cooperative_id)]  # membership no longer matters for a repeat
    again, created = events.attend(activity_id, cooperative_id, participants=9)
    assert (again, created) == (first, False)
    assert events.activity(activity_id).version == 2


def test_checks_come_in_the_contract_order(events: Events, members: Members) -> None:
    outsider = uuid4()
    with pytest.raises(domain.ActivityNotFoundError):
        events.attend(uuid4(), outsider)
    activity_id = schedule(events)
    attendee = member(members, date(2020, 1, 1))
    events.attend(activity_id, attendee)
    events.cancel(activity_id, reason="tempête")
    asked = members.asked
    with pytest.raises(domain.ActivityCancelledError):
        events.attend(activity_id, outsider)
    with pytest.raises(domain.ActivityCancelledError):
        events.attend(activity_id, attendee)
    assert members.asked == asked


def test_public_attendance_adds_to_the_activity(events: Events) -> None:
    activity_id = schedule(events, type="cine_discussion")
    first = events.record_public_attendance(activity_id, uuid4(), count=30, region="01")
    events.record_public_attendance(activity_id, uuid4(), count=12)
    assert events.activity(activity_id).public_attendance == 42
    assert events.public_attendance(activity_id, first.id) == first


def test_a_cancelled_activity_refuses_public_attendance(events: Events) -> None:
    activity_id = schedule(events)
    events.cancel(activity_id)
    with pytest.raises(domain.ActivityCancelledError):
        events.record_public_attendance(activity_id, uuid4(), count=5)


def test_cancelling_twice_is_refused(events: Events) -> None:
    activity_id = schedule(events)
    events.cancel(activity_id, reason="salle fermée")
    with pytest.raises(domain.AlreadyCancelledError):
        events.cancel(activity_id)


def test_every_stored_event_maps_to_its_integration_payload(
    events: Events, members: Members
) -> None:
    activity_id = schedule(events, type="parcours_coop", format="remote", region=None)
    cooperative_id = member(members, date(2020, 1, 1))
    events.attend(activity_id, cooperative_id, participants=5)
    record_id = uuid4()
    events.record_public_attendance(activity_id, record_id, count=8, region="11")
    events.cancel(activity_id, reason="report")
    events.reinstate(activity_id, reason="finalement")
    events.revise(activity_id, {"title": "Parcours", "partners": []})
    events.correct_attendance(activity_id, cooperative_id, participants=6, reason="liste")
    events.withdraw_attendance(activity_id, cooperative_id, reason="doublon")
    events.correct_public_attendance(activity_id, record_id, {"count": 9}, reason=None)
    events.withdraw_public_attendance(activity_id, record_id, reason="erreur")
    mapped = [to_integration(e) for e in events.events.get(activity_id)]
    a = str(activity_id)
    assert mapped == [
        (
            "ActivityScheduled",
            {
                "activity_id": a,
                "type": "parcours_coop",
                "title": "Gestion participative",
                "date": "2023-11-15",
                "format": "remote",
                "region": None,
                "partners": ["CDR Québec-Appalaches"],
            },
        ),
        (
            "ActivityAttended",
            {
                "activity_id": a,
                "cooperative_id": str(cooperative_id),
                "participants": 5,
                "activity_type": "parcours_coop",
                "activity_date": "2023-11-15",
            },
        ),
        (
            "PublicAttendanceRecorded",
            {"activity_id": a, "record_id": str(record_id), "count": 8, "region": "11"},
        ),
        ("ActivityCancelled", {"activity_id": a, "reason": "report"}),
        ("ActivityReinstated", {"activity_id": a, "reason": "finalement"}),
        (
            "ActivityRevised",
            {"activity_id": a, "changes": {"title": "Parcours", "partners": []}, "reason": None},
        ),
        (
            "AttendanceCorrected",
            {
                "activity_id": a,
                "cooperative_id": str(cooperative_id),
                "participants": 6,
                "reason": "liste",
            },
        ),
        (
            "AttendanceWithdrawn",
            {"activity_id": a, "cooperative_id": str(cooperative_id), "reason": "doublon"},
        ),
        (
            "PublicAttendanceCorrected",
            {
                "activity_id": a,
                "record_id": str(record_id),
                "count": 9,
                "region": "11",
                "reason": None,
            },
        ),
        (
            "PublicAttendanceWithdrawn",
            {"activity_id": a, "record_id": str(record_id), "reason": "erreur"},
        ),
    ]
    for event_type, data in mapped:  # type: ignore[misc]
        assert set(data) == set(EVENTS.models[event_type].model_fields)


def test_the_activity_list_filters_by_type_region_and_inclusive_dates(events: Events) -> None:
    catalogue = views.ActivityCatalogue(events)
    events.on_saved(catalogue.catch_up)
    first = schedule(events, held_on=date(2023, 9, 1), region="01")
    second = schedule(events, held_on=date(2023, 10, 1), type="conference", region="06")
    third = schedule(events, held_on=date(2023, 11, 1), format="remote", region=None)

    def ids(**filters: object) -> list[str]:
        query: dict[str, object] = {"type": None, "region": None, "start": None, "end": None}
        query.update(filters)
        items, _ = catalogue.list(**query, after=0, limit=100)  # type: ignore[arg-type]
        return [item["id"] for item in items]

    assert ids() == [str(first), str(second), str(third)]
    assert ids(type="conference") == [str(second)]
    assert ids(region="01") == [str(first)]
    assert ids(start=date(2023, 10, 1)) == [str(second), str(third)]
    assert ids(end=date(2023, 10, 1)) == [str(first), str(second)]
    assert ids(start=date(2023, 10, 1), end=date(2023, 10, 1)) == [str(second)]
    assert ids(start=date(2023, 12, 1)) == []
