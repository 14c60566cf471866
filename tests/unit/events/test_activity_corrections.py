# ruff: noqa: F811  (pytest fixtures imported from test_use_cases)
"""Corrections of activities and attendance (contract §10, §16), on real event stores."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.events import domain, views
from services.events.application import Events
from services.events.contracts import to_integration
from shared.application import StaleVersionError
from shared.contracts.events import EVENTS
from shared.external_refs import KnownReference
from shared.integration import Envelope, event_id_for
from tests.unit.events.test_use_cases import (  # noqa: F401  (fixtures)
    Members,
    events,
    member,
    members,
    schedule,
)


def attended(events: Events, members: Members, activity_id: UUID, participants: int = 2) -> UUID:
    cooperative_id = member(members, date(2020, 1, 1))
    events.attend(activity_id, cooperative_id, participants=participants)
    return cooperative_id


def test_a_revision_records_only_the_fields_that_change(events: Events) -> None:
    activity_id = schedule(events)
    activity, changed = events.revise(
        activity_id, {"title": "Gestion participative", "date": date(2023, 12, 1)}
    )
    assert changed and activity.held_on == date(2023, 12, 1) and activity.version == 2
    last = list(events.history(activity_id))[-1]
    assert to_integration(last) == (
        "ActivityRevised",
        {"activity_id": str(activity_id), "changes": {"date": "2023-12-01"}, "reason": None},
    )


def test_a_revision_carries_its_reason_into_the_history(events: Events) -> None:
    activity_id = schedule(events)

    events.revise(activity_id, {"date": date(2023, 12, 2)}, reason="date du calendrier")

    (kind, data) = to_integration(list(events.history(activity_id))[-1]) or ("", {})
    assert (kind, data["reason"]) == ("ActivityRevised", "date du calendrier")


def test_a_revision_that_changes_nothing_records_nothing(events: Events) -> None:
    activity_id = schedule(events)
    activity, changed = events.revise(activity_id, {"type": "formation", "region": "03"})
    assert not changed and activity.version == 1


def test_a_revision_keeps_the_region_rule_on_the_result(events: Events) -> None:
    activity_id = schedule(events)
    with pytest.raises(domain.RegionRequiredError):
        events.revise(activity_id, {"region": None})
    activity, changed = events.revise(activity_id, {"format": "remote", "region": None})
    assert changed and (activity.format, activity.region) == ("remote", None)


def test_a_revision_against_a_stale_version_is_refused(events: Events) -> None:
    activity_id = schedule(events)
    with pytest.raises(StaleVersionError):
        events.revise(activity_id, {"title": "Autre"}, expected_version=3)


def test_an_attendance_follows_its_activity_s_new_date(events: Events, members: Members) -> None:
    activity_id = schedule(events)
    cooperative_id = attended(events, members, activity_id)
    events.revise(activity_id, {"date": date(2024, 2, 2), "type": "conference"})
    activity = events.activity(activity_id)
    assert activity.attendance_of(cooperative_id) is not None
    assert (activity.held_on, activity.type) == (date(2024, 2, 2), "conference")


def test_only_a_cancelled_activity_is_reinstated(events: Events) -> None:
    activity_id = schedule(events)
    with pytest.raises(domain.NotCancelledError):
        events.reinstate(activity_id)
    events.cancel(activity_id)
    activity = events.reinstate(activity_id, reason="reportée, pas annulée")
    assert activity.status == "scheduled"


def test_an_attendance_is_corrected_even_on_a_cancelled_activity(
    events: Events, members: Members
) -> None:
    activity_id = schedule(events)
    cooperative_id = attended(events, members, activity_id)
    events.cancel(activity_id)
    activity, record, changed = events.correct_attendance(
        activity_id, cooperative_id, participants=5, reason="feuille de présence"
    )
    assert changed and record.participants == 5 and activity.version == 4
    _, _, again = events.correct_attendance(activity_id, cooperative_id, participants=5)
    assert not again


def test_correcting_an_unknown_attendance_is_not_found(events: Events) -> None:
    activity_id = schedule(events)
    with pytest.raises(domain.AttendanceNotFoundError):
        events.correct_attendance(activity_id, uuid4(), participants=2)


def test_a_withdrawn_attendance_is_gone_and_may_be_recorded_again(
    events: Events, members: Members
) -> None:
    activity_id = schedule(events)
    cooperative_id = attended(events, members, activity_id)
    events.withdraw_attendance(activity_id, cooperative_id, reason="doublon")
    assert events.activity(activity_id).member_attendances == 0
    with pytest.raises(domain.AlreadyWithdrawnError):
        events.withdraw_attendance(activity_id, cooperative_id)
    _, created = events.attend(activity_id, cooperative_id)
    assert created and events.activity(activity_id).member_attendances == 1


def test_a_public_attendance_is_corrected_and_withdrawn(events: Events) -> None:
    activity_id = schedule(events, type="cine_discussion")
    record_id = uuid4()
    events.record_public_attendance(activity_id, record_id, count=30, region="01")
    _, record, changed = events.correct_public_attendance(activity_id, record_id, {"count": 33})
    assert changed and (record.count, record.region) == (33, "01")
    assert events.activity(activity_id).public_attendance == 33
    _, _, again = events.correct_public_attendance(activity_id, record_id, {"region": "01"})
    assert not again
    events.withdraw_public_attendance(activity_id, record_id)
    assert events.activity(activity_id).public_attendance == 0
    with pytest.raises(domain.AlreadyWithdrawnError):
        events.withdraw_public_attendance(activity_id, record_id)
    with pytest.raises(domain.AttendanceNotFoundError):
        events.withdraw_public_attendance(activity_id, uuid4())


def test_a_known_activity_reference_answers_its_holder(events: Events) -> None:
    activity_id = schedule(events, external_ref="crm-1")
    with pytest.raises(KnownReference) as known:
        schedule(events, external_ref="crm-1")
    assert known.value.holder == str(activity_id)


def test_a_public_attendance_reference_is_refused_under_another_activity(events: Events) -> None:
    first, second = schedule(events), schedule(events)
    record_id = uuid4()
    events.record_public_attendance(first, record_id, count=3, external_ref="row-7")
    with pytest.raises(KnownReference) as known:
        events.record_public_attendance(first, uuid4(), count=3, external_ref="row-7")
    assert known.value.holder == f"{first}/{record_id}"
    with pytest.raises(domain.ExternalRefTakenError):
        events.record_public_attendance(second, uuid4(), count=3, external_ref="row-7")


def test_the_attendance_index_lists_a_cooperative_s_records_without_withdrawn_ones(
    events: Events, members: Members
) -> None:
    first, second = schedule(events), schedule(events)
    cooperative_id = attended(events, members, first, participants=3)
    events.attend(second, cooperative_id)
    events.correct_attendance(first, cooperative_id, participants=4)
    index = views.AttendanceIndex(events)
    items, _ = index.list(str(cooperative_id), after=0, limit=10)
    assert [(i["activity_id"], i["participants"]) for i in items] == [
        (str(first), 4),
        (str(second), 1),
    ]
    events.withdraw_attendance(first, cooperative_id)
    items, _ = index.list(str(cooperative_id), after=0, limit=10)
    assert [i["activity_id"] for i in items] == [str(second)]


def test_a_version_1_public_attendance_message_is_upcast_with_its_event_id() -> None:
    envelope = Envelope(
        event_id="0b5e6c1e-2f63-4c59-9d5b-7a0d6f1f2b11",
        event_type="PublicAttendanceRecorded",
        schema_version=1,
        aggregate_id="4c1f1a4e-5f0b-4d77-9a55-0e3f6e0a2b33",
        aggregate_version=2,
        occurred_at="2023-10-12T20:00:00Z",
        correlation_id="6a0e0f7a-8b1c-4e55-9f4c-2d3b1a0c9e88",
        data={"activity_id": "4c1f1a4e-5f0b-4d77-9a55-0e3f6e0a2b33", "count": 40, "region": None},
    )
    payload: Any = EVENTS.payload(envelope)
    assert payload.record_id == envelope.event_id
    assert EVENTS.versions["PublicAttendanceRecorded"] == 2


def test_a_version_1_stored_public_attendance_has_its_message_s_event_id_as_id(
    events: Events,
) -> None:
    activity_id = schedule(events, type="cine_discussion")
    events.record_public_attendance(activity_id, uuid4(), count=25)
    stored = events.recorder.select_events(activity_id)[-1]
    state = events.mapper.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2
    state.pop("external_ref")  # as version 1 stored it
    as_v1 = type(stored)(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=events.mapper.transcoder.encode(state),
    )
    event: Any = events.mapper.to_domain_event(as_v1)
    assert event.record_id == UUID(event_id_for(activity_id, 2))
    assert event.external_ref is None


def test_a_withdrawn_public_attendance_still_answers_for_its_reference(events: Events) -> None:
    activity_id = schedule(events)
    record_id = uuid4()
    events.record_public_attendance(activity_id, record_id, count=5, external_ref="row-9")
    events.withdraw_public_attendance(activity_id, record_id)
    with pytest.raises(KnownReference) as known:
        events.record_public_attendance(activity_id, uuid4(), count=5, external_ref="row-9")
    assert known.value.holder == f"{activity_id}/{record_id}"
    assert events.public_attendance(activity_id, record_id).count == 5
    assert events.activity(activity_id).public_attendance == 0
