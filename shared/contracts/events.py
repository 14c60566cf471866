"""`COOP_EVENTS`: what the events service publishes."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.integration import Payload, StreamContract

EVENTS = StreamContract(
    stream="COOP_EVENTS",
    service="events",
    record_ids={"PublicAttendanceRecorded": "record_id"},
)


@EVENTS.event
class ActivityScheduled(Payload):
    """An activity of the network was scheduled."""

    activity_id: str
    type: str
    title: str
    date: str
    format: str
    region: str | None = None
    partners: list[str] = Field(default_factory=list)


@EVENTS.event
class ActivityCancelled(Payload):
    """An activity was cancelled; it no longer counts."""

    activity_id: str
    reason: str | None = None


@EVENTS.event
class ActivityAttended(Payload):
    """A member cooperative attended an activity (once per cooperative and activity)."""

    activity_id: str
    cooperative_id: str
    participants: int
    activity_type: str
    activity_date: str


class PublicAttendanceRecordedV1(Payload):
    """Version 1 of `PublicAttendanceRecorded`: without `record_id`."""

    activity_id: str
    count: int
    region: str | None = None


class PublicAttendanceRecorded(Payload):
    """People not counted through a member cooperative attended an activity (version 2).

    `record_id` names the record that later corrections and withdrawals refer to.
    """

    activity_id: str
    record_id: str
    count: int
    region: str | None = None


EVENTS.event(PublicAttendanceRecorded, version=2)


@EVENTS.upcaster("PublicAttendanceRecorded", 1)
def _public_attendance_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 record's id is the `event_id` of the message that recorded it (§16.1).

    `EVENTS.upcast` puts that id in the data; data without it (read outside an envelope)
    keeps none.
    """
    return {**data, "record_id": data.get("record_id", "")}


@EVENTS.event
class ActivityRevised(Payload):
    """Some of an activity's fields were corrected: `changes` holds them with their new values,
    `reason` why (§10: every correction takes one, optional)."""

    activity_id: str
    changes: dict[str, Any]
    reason: str | None = None


@EVENTS.event
class ActivityReinstated(Payload):
    """A cancelled activity was reinstated: it counts again."""

    activity_id: str
    reason: str | None = None


@EVENTS.event
class AttendanceCorrected(Payload):
    """A member attendance's participants were corrected."""

    activity_id: str
    cooperative_id: str
    participants: int
    reason: str | None = None


@EVENTS.event
class AttendanceWithdrawn(Payload):
    """A member attendance was withdrawn: it counts nowhere."""

    activity_id: str
    cooperative_id: str
    reason: str | None = None


@EVENTS.event
class PublicAttendanceCorrected(Payload):
    """A public attendance record's count and region, as corrected."""

    activity_id: str
    record_id: str
    count: int
    region: str | None = None
    reason: str | None = None


@EVENTS.event
class PublicAttendanceWithdrawn(Payload):
    """A public attendance record was withdrawn: it counts nowhere."""

    activity_id: str
    record_id: str
    reason: str | None = None
