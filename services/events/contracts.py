"""From the events domain's events to the integration events of `COOP_EVENTS`."""

from __future__ import annotations

from typing import Any

from services.events.domain import Activity
from shared.contracts.events import (
    EVENTS,
    ActivityAttended,
    ActivityCancelled,
    ActivityReinstated,
    ActivityRevised,
    ActivityScheduled,
    AttendanceCorrected,
    AttendanceWithdrawn,
    PublicAttendanceCorrected,
    PublicAttendanceRecorded,
    PublicAttendanceWithdrawn,
)

__all__ = ["EVENTS", "to_integration"]


def to_integration(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The integration event type and data of a stored domain event."""
    activity_id = str(event.originator_id)
    if isinstance(event, Activity.Scheduled):
        payload: Any = ActivityScheduled(
            activity_id=activity_id,
            type=event.type,
            title=event.title,
            date=event.held_on.isoformat(),
            format=event.format,
            region=event.region,
            partners=list(event.partners),
        )
    elif isinstance(event, Activity.Attended):
        payload = ActivityAttended(
            activity_id=activity_id,
            cooperative_id=str(event.cooperative_id),
            participants=event.participants,
            activity_type=event.activity_type,
            activity_date=event.activity_date.isoformat(),
        )
    elif isinstance(event, Activity.PublicAttendanceRecorded):
        payload = PublicAttendanceRecorded(
            activity_id=activity_id,
            record_id=str(event.record_id),
            count=event.count,
            region=event.region,
        )
    elif isinstance(event, Activity.Cancelled):
        payload = ActivityCancelled(activity_id=activity_id, reason=event.reason)
    elif isinstance(event, Activity.Revised):
        payload = ActivityRevised(
            activity_id=activity_id, changes=dict(event.changes), reason=event.reason
        )
    elif isinstance(event, Activity.Reinstated):
        payload = ActivityReinstated(activity_id=activity_id, reason=event.reason)
    elif isinstance(event, Activity.AttendanceCorrected):
        payload = AttendanceCorrected(
            activity_id=activity_id,
            cooperative_id=str(event.cooperative_id),
            participants=event.participants,
            reason=event.reason,
        )
    elif isinstance(event, Activity.AttendanceWithdrawn):
        payload = AttendanceWithdrawn(
            activity_id=activity_id, cooperative_id=str(event.cooperative_id), reason=event.reason
        )
    elif isinstance(event, Activity.PublicAttendanceCorrected):
        payload = PublicAttendanceCorrected(
            activity_id=activity_id,
            record_id=str(event.record_id),
            count=event.count,
            region=event.region,
            reason=event.reason,
        )
    elif isinstance(event, Activity.PublicAttendanceWithdrawn):
        payload = PublicAttendanceWithdrawn(
            activity_id=activity_id, record_id=str(event.record_id), reason=event.reason
        )
    else:
        return None
    return type(payload).__name__, payload.model_dump(mode="json")
