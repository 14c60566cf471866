"""`COOP_EVENTS`: what the events service publishes."""

from __future__ import annotations

from pydantic import Field

from shared.integration import Payload, StreamContract

EVENTS = StreamContract(stream="COOP_EVENTS", service="events")


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


@EVENTS.event
class PublicAttendanceRecorded(Payload):
    """People not counted through a member cooperative attended an activity."""

    activity_id: str
    count: int
    region: str | None = None
