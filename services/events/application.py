"""Events use cases: schedule, attend, count the public, cancel."""

from __future__ import annotations

import threading
from datetime import date
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.events.domain import (
    Activity,
    ActivityNotFoundError,
    Attendance,
    AttendanceNotFoundError,
    CooperativeNotMemberError,
    PublicAttendance,
)
from shared.application import CoopApplication
from shared.persistence import CommandContext, Database


class Members(Protocol):
    """Which cooperatives are members on a date, as this service learned from membership."""

    def is_member_on(self, cooperative_id: str, day: date) -> bool:
        """True when the cooperative is an active member on `day`."""


class Events(CoopApplication):
    """The events service's application."""

    name = "events"

    def __init__(
        self, database: Database, members: Members, env: dict[str, str] | None = None
    ) -> None:
        super().__init__(database, env)
        self.members = members
        # One command at a time in this process, its view catch-up included: SQLite has one
        # writer anyway, and a view that catches up inside its own write transaction must not
        # interleave with a save waiting for that same database lock.
        self.serial = threading.RLock()

    def schedule(
        self,
        activity_id: UUID,
        *,
        type: str,
        title: str,
        held_on: date,
        format: str,
        region: str | None,
        partners: list[str] | None = None,
        context: CommandContext | None = None,
    ) -> Activity:
        """Schedule an activity."""
        activity = Activity.schedule(
            activity_id,
            type=type,
            title=title,
            held_on=held_on,
            format=format,
            region=region,
            partners=partners,
        )
        with self.serial:
            self.record(context, activity)
        return activity

    def activity(self, activity_id: UUID) -> Activity:
        """The activity as recorded now."""
        try:
            activity: Activity = self.repository.get(activity_id)
        except AggregateNotFoundError:
            raise ActivityNotFoundError(f"no activity {activity_id}") from None
        return activity

    def attend(
        self,
        activity_id: UUID,
        cooperative_id: UUID,
        *,
        participants: int = 1,
        context: CommandContext | None = None,
    ) -> tuple[Attendance, bool]:
        """Record a member cooperative's attendance; True when it is new.

        Checks, in order: the activity exists, it is not cancelled, the cooperative's
        attendance is not recorded yet (else the existing record, nothing recorded), the
        cooperative is a member on the activity's date.
        """
        with self.serial:
            activity = self.activity(activity_id)
            activity.check_open()
            existing = activity.attendance_of(cooperative_id)
            if existing is not None:
                return existing, False
            if not self.members.is_member_on(str(cooperative_id), activity.held_on):
                raise CooperativeNotMemberError(
                    f"the cooperative {cooperative_id} is not a member on {activity.held_on}"
                    " as far as the events service knows"
                )
            attendance = activity.record_attendance(cooperative_id, participants)
            self.record(context, activity)
        return attendance, True

    def attendance(self, activity_id: UUID, cooperative_id: UUID) -> Attendance:
        """A recorded attendance."""
        attendance = self.activity(activity_id).attendance_of(cooperative_id)
        if attendance is None:
            raise AttendanceNotFoundError(f"no attendance of {cooperative_id} at {activity_id}")
        return attendance

    def record_public_attendance(
        self,
        activity_id: UUID,
        record_id: UUID,
        *,
        count: int,
        region: str | None = None,
        context: CommandContext | None = None,
    ) -> PublicAttendance:
        """Add people who attended without a member cooperative."""
        with self.serial:
            activity = self.activity(activity_id)
            record = activity.record_public_attendance(record_id, count, region)
            self.record(context, activity)
        return record

    def public_attendance(self, activity_id: UUID, record_id: UUID) -> PublicAttendance:
        """A recorded public attendance."""
        record = self.activity(activity_id).public_attendance_record(record_id)
        if record is None:
            raise AttendanceNotFoundError(f"no public attendance {record_id} at {activity_id}")
        return record

    def cancel(
        self, activity_id: UUID, *, reason: str | None = None, context: CommandContext | None = None
    ) -> Activity:
        """Cancel an activity."""
        with self.serial:
            activity = self.activity(activity_id)
            activity.cancel(reason)
            self.record(context, activity)
        return activity
