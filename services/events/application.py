"""Events use cases: schedule, attend, count the public, cancel."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError as EventStoreConflict

from services.events.domain import (
    Activity,
    ActivityNotFoundError,
    Attendance,
    AttendanceNotFoundError,
    CooperativeNotMemberError,
    ExternalRefTakenError,
    PublicAttendance,
)
from shared.application import CoopApplication, check_version
from shared.external_refs import KnownReference, holder_of, reference_claims
from shared.persistence import CommandContext, Database

ACTIVITY_REF = "activity"
PUBLIC_ATTENDANCE_REF = "public_attendance"


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
        external_ref: str | None = None,
        context: CommandContext | None = None,
    ) -> Activity:
        """Schedule an activity; a known `external_ref` raises `KnownReference` first."""
        holder = holder_of(self.database, ACTIVITY_REF, external_ref)
        if holder is not None:
            raise KnownReference(holder)
        activity = Activity.schedule(
            activity_id,
            type=type,
            title=title,
            held_on=held_on,
            format=format,
            region=region,
            partners=partners,
            external_ref=external_ref,
        )
        claims = reference_claims(ACTIVITY_REF, external_ref, activity_id)
        with self.serial:
            self._save(context, activity, claims, ACTIVITY_REF, external_ref, str(activity_id))
        return activity

    def _save(
        self,
        context: CommandContext | None,
        activity: Activity,
        claims: tuple[tuple[str, str], ...],
        kind: str,
        external_ref: str | None,
        own: str,
    ) -> None:
        """Record with the reference claims; a concurrent create holding the ref answers."""
        context = (context or CommandContext(correlation_id=str(uuid4()))).claiming(claims, ())
        try:
            self.record(context, activity)
        except EventStoreConflict:
            holder = holder_of(self.database, kind, external_ref)
            if holder is not None and holder != own:
                raise KnownReference(holder) from None
            raise

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
        external_ref: str | None = None,
        context: CommandContext | None = None,
    ) -> PublicAttendance:
        """Add people who attended without a member cooperative.

        Checks, in order: the activity exists; a known `external_ref` answers with its
        record (`KnownReference`), or 409 when that record is another activity's; then the
        activity is not cancelled and the count and region hold.
        """
        with self.serial:
            activity = self.activity(activity_id)
            self._check_public_reference(activity_id, external_ref)
            record = activity.record_public_attendance(record_id, count, region, external_ref)
            # The claim's owner names both ids in 64 characters: activity, then record, in hex.
            own = activity_id.hex + record_id.hex
            claims = reference_claims(PUBLIC_ATTENDANCE_REF, external_ref, own)
            try:
                self._save(context, activity, claims, PUBLIC_ATTENDANCE_REF, external_ref, own)
            except KnownReference:
                self._check_public_reference(activity_id, external_ref)
                raise
        return record

    def _check_public_reference(self, activity_id: UUID, external_ref: str | None) -> None:
        """A held reference: `KnownReference` (`<activity id>/<record id>`), or 409 elsewhere."""
        holder = holder_of(self.database, PUBLIC_ATTENDANCE_REF, external_ref)
        if holder is None:
            return
        holder_activity, holder_record = UUID(holder[:32]), UUID(holder[32:])
        if holder_activity != activity_id:
            raise ExternalRefTakenError(
                "this external_ref belongs to a public attendance of another activity"
            )
        raise KnownReference(f"{holder_activity}/{holder_record}")

    def public_attendance(self, activity_id: UUID, record_id: UUID) -> PublicAttendance:
        """A recorded public attendance (a withdrawn one too: its external_ref still names it)."""
        activity = self.activity(activity_id)
        record = activity.public_attendance_record(record_id) or activity.withdrawn_public.get(
            record_id
        )
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

    def revise(
        self,
        activity_id: UUID,
        proposed: dict[str, Any],
        *,
        reason: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> tuple[Activity, bool]:
        """Correct some of an activity's fields; answers it and whether anything changed."""
        with self.serial:
            activity = self.activity(activity_id)
            check_version(activity.version, expected_version)
            changed = activity.revise(proposed, reason)
            if changed:
                self.record(context, activity)
        return activity, changed

    def reinstate(
        self,
        activity_id: UUID,
        *,
        reason: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Activity:
        """Undo a cancellation."""
        with self.serial:
            activity = self.activity(activity_id)
            check_version(activity.version, expected_version)
            activity.reinstate(reason)
            self.record(context, activity)
        return activity

    def correct_attendance(
        self,
        activity_id: UUID,
        cooperative_id: UUID,
        *,
        participants: int,
        reason: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> tuple[Activity, Attendance, bool]:
        """Correct an attendance's participants (allowed on a cancelled activity)."""
        with self.serial:
            activity = self.activity(activity_id)
            activity.recorded_attendance(cooperative_id)
            check_version(activity.version, expected_version)
            changed = activity.correct_attendance(cooperative_id, participants, reason)
            if changed:
                self.record(context, activity)
        return activity, activity.recorded_attendance(cooperative_id), changed

    def withdraw_attendance(
        self,
        activity_id: UUID,
        cooperative_id: UUID,
        *,
        reason: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Activity:
        """Withdraw an attendance; the cooperative may be recorded again afterwards."""
        with self.serial:
            activity = self.activity(activity_id)
            activity.recorded_attendance(cooperative_id)
            check_version(activity.version, expected_version)
            activity.withdraw_attendance(cooperative_id, reason)
            self.record(context, activity)
        return activity

    def correct_public_attendance(
        self,
        activity_id: UUID,
        record_id: UUID,
        proposed: dict[str, Any],
        *,
        reason: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> tuple[Activity, PublicAttendance, bool]:
        """Correct a public attendance record's count or region."""
        with self.serial:
            activity = self.activity(activity_id)
            activity.recorded_public_attendance(record_id)
            check_version(activity.version, expected_version)
            changed = activity.correct_public_attendance(record_id, proposed, reason)
            if changed:
                self.record(context, activity)
        return activity, activity.recorded_public_attendance(record_id), changed

    def withdraw_public_attendance(
        self,
        activity_id: UUID,
        record_id: UUID,
        *,
        reason: str | None = None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Activity:
        """Withdraw a public attendance record."""
        with self.serial:
            activity = self.activity(activity_id)
            activity.recorded_public_attendance(record_id)
            check_version(activity.version, expected_version)
            activity.withdraw_public_attendance(record_id, reason)
            self.record(context, activity)
        return activity

    def history(self, activity_id: UUID) -> list[DomainEventProtocol[UUID]]:
        """Every recorded event of the activity, oldest first."""
        self.activity(activity_id)
        return list(self.events.get(activity_id))
