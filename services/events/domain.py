"""The network's activities and who attended them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.fields import REGION_CODES
from shared.integration import event_id_for
from shared.vocabulary import ActivityFormat, ActivityType

REVISABLE = ("type", "title", "date", "format", "region", "partners")

ACTIVITY_TYPES = tuple(kind.value for kind in ActivityType)
FORMATS = tuple(format.value for format in ActivityFormat)


@dataclass(frozen=True)
class Attendance:
    """A member cooperative's attendance at an activity (one per cooperative and activity)."""

    activity_id: UUID
    cooperative_id: UUID
    participants: int
    recorded_at: datetime
    number: int = 0
    """Its place among the activity's attendances in recording order (1 for the first),
    withdrawn ones counted: what a list's cursor stands on."""


@dataclass(frozen=True)
class PublicAttendance:
    """People who attended without a member cooperative (film-discussion audiences…)."""

    id: UUID
    activity_id: UUID
    count: int
    region: str | None
    recorded_at: datetime
    external_ref: str | None = None
    number: int = 0
    """Its place among the activity's public records in recording order (1 for the first),
    withdrawn ones counted: what a list's cursor stands on."""


class Activity(Aggregate):
    """An activity the network runs: a formation, a Courtepointe, a film-discussion…"""

    class Scheduled(Aggregate.Created):
        """The activity was scheduled."""

        type: str
        title: str
        held_on: date
        format: str
        region: str | None
        partners: list[str]
        external_ref: str | None = None

    class Revised(Aggregate.Event):
        """Some of the activity's fields were corrected (`changes`: public names, ISO date).

        Version 2 adds the correction's `reason` (none for a revision recorded before).
        """

        class_version = 2

        changes: dict[str, Any]
        reason: str | None = None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """A revision recorded before version 2 gave no reason."""
            state["reason"] = None

    class Reinstated(Aggregate.Event):
        """A cancellation was undone."""

        reason: str | None

    class AttendanceCorrected(Aggregate.Event):
        """A member attendance's participants were corrected."""

        cooperative_id: UUID
        participants: int
        reason: str | None

    class AttendanceWithdrawn(Aggregate.Event):
        """A member attendance was recorded by mistake and withdrawn."""

        cooperative_id: UUID
        reason: str | None

    class PublicAttendanceCorrected(Aggregate.Event):
        """A public attendance record's count or region was corrected."""

        record_id: UUID
        count: int
        region: str | None
        reason: str | None

    class PublicAttendanceWithdrawn(Aggregate.Event):
        """A public attendance record was withdrawn."""

        record_id: UUID
        reason: str | None

    class Attended(Aggregate.Event):
        """A member cooperative attended; the activity's type and date travel with it."""

        cooperative_id: UUID
        participants: int
        activity_type: str
        activity_date: date
        recorded_at: datetime

    class PublicAttendanceRecorded(Aggregate.Event):
        """People who are not counted through a member cooperative attended.

        Version 2: a record recorded by a version-1 event has as its id the `event_id` of the
        message that recorded it (contract §16.1), and no external reference.
        """

        class_version = 2

        record_id: UUID
        count: int
        region: str | None
        recorded_at: datetime
        external_ref: str | None = None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """A version-1 record's id is its message's `event_id`."""
            state["record_id"] = UUID(
                event_id_for(state["originator_id"], state["originator_version"])
            )
            state["external_ref"] = None

    class Cancelled(Aggregate.Event):
        """The activity was cancelled."""

        reason: str | None

    @classmethod
    def schedule(
        cls,
        activity_id: UUID,
        *,
        type: str,
        title: str,
        held_on: date,
        format: str,
        region: str | None,
        partners: list[str] | None = None,
        external_ref: str | None = None,
    ) -> Activity:
        """Schedule an activity after checking its type, format and region."""
        cls.check_can_schedule(type=type, title=title, format=format, region=region)
        return cls(
            id=activity_id,
            type=type,
            title=title,
            held_on=held_on,
            format=format,
            region=region,
            partners=list(partners or []),
            external_ref=external_ref,
        )

    @staticmethod
    def check_can_schedule(*, type: str, title: str, format: str, region: str | None) -> None:
        """A known type and format, a title, and a region unless the activity is remote."""
        if type not in ACTIVITY_TYPES:
            raise UnknownActivityTypeError(
                f"{type!r} is not an activity type ({', '.join(ACTIVITY_TYPES)})"
            )
        if format not in FORMATS:
            raise UnknownFormatError(f"{format!r} is not a format ({', '.join(FORMATS)})")
        if not title.strip():
            raise EmptyTitleError("an activity needs a title")
        if region is None and format != "remote":
            raise RegionRequiredError("region is required unless the activity is remote")
        check_region(region)

    @event(Scheduled)
    def __init__(
        self,
        id: UUID,
        type: str,
        title: str,
        held_on: date,
        format: str,
        region: str | None,
        partners: list[str],
        external_ref: str | None = None,
    ) -> None:
        self.type = type
        self.title = title
        self.held_on = held_on
        self.format = format
        self.region = region
        self.partners = list(partners)
        self.external_ref = external_ref
        self.cancelled = False
        self.attendances: dict[UUID, Attendance] = {}
        self.withdrawn_attendances: set[UUID] = set()
        self.attendances_recorded = 0
        self.public_attendances: list[PublicAttendance] = []
        self.withdrawn_public: dict[UUID, PublicAttendance] = {}

    @property
    def status(self) -> str:
        """`scheduled` or `cancelled`."""
        return "cancelled" if self.cancelled else "scheduled"

    @property
    def member_attendances(self) -> int:
        """How many member cooperatives attended."""
        return len(self.attendances)

    @property
    def public_attendance(self) -> int:
        """The sum of public attendance counts."""
        return sum(record.count for record in self.public_attendances)

    def attendance_of(self, cooperative_id: UUID) -> Attendance | None:
        """The cooperative's attendance record, if one was recorded."""
        return self.attendances.get(cooperative_id)

    def public_attendance_record(self, record_id: UUID) -> PublicAttendance | None:
        """One public attendance record, by its id."""
        return next((r for r in self.public_attendances if r.id == record_id), None)

    def check_open(self) -> None:
        """Nothing more is recorded for a cancelled activity."""
        if self.cancelled:
            raise ActivityCancelledError("the activity is cancelled")

    def record_attendance(self, cooperative_id: UUID, participants: int = 1) -> Attendance:
        """Record the cooperative's attendance; a repeat gives the existing record, no event."""
        self.check_open()
        existing = self.attendance_of(cooperative_id)
        if existing is not None:
            return existing
        if participants < 1:
            raise ParticipantsError("participants must be at least 1")
        self._attend(
            cooperative_id=cooperative_id,
            participants=participants,
            activity_type=self.type,
            activity_date=self.held_on,
            recorded_at=datetime.now(UTC),
        )
        return self.attendances[cooperative_id]

    @event(Attended)
    def _attend(
        self,
        cooperative_id: UUID,
        participants: int,
        activity_type: str,
        activity_date: date,
        recorded_at: datetime,
    ) -> None:
        self.attendances_recorded += 1
        self.attendances[cooperative_id] = Attendance(
            self.id, cooperative_id, participants, recorded_at, self.attendances_recorded
        )
        self.withdrawn_attendances.discard(cooperative_id)

    def record_public_attendance(
        self,
        record_id: UUID,
        count: int,
        region: str | None = None,
        external_ref: str | None = None,
    ) -> PublicAttendance:
        """Add people who attended without a member cooperative."""
        self.check_open()
        if count < 1:
            raise PublicCountError("count must be at least 1")
        check_region(region)
        self._record_public_attendance(record_id, count, region, datetime.now(UTC), external_ref)
        return self.public_attendances[-1]

    @event(PublicAttendanceRecorded)
    def _record_public_attendance(
        self,
        record_id: UUID,
        count: int,
        region: str | None,
        recorded_at: datetime,
        external_ref: str | None = None,
    ) -> None:
        number = len(self.public_attendances) + len(self.withdrawn_public) + 1
        self.public_attendances.append(
            PublicAttendance(record_id, self.id, count, region, recorded_at, external_ref, number)
        )

    def cancel(self, reason: str | None = None) -> None:
        """Cancel the activity, once."""
        if self.cancelled:
            raise AlreadyCancelledError("the activity is already cancelled")
        self._cancel(reason)

    @event(Cancelled)
    def _cancel(self, reason: str | None) -> None:
        self.cancelled = True

    def revision_changes(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """The proposed fields (public names; `date` a date) whose value differs from now."""
        current = {
            "type": self.type,
            "title": self.title,
            "date": self.held_on,
            "format": self.format,
            "region": self.region,
            "partners": list(self.partners),
        }
        return {k: v for k, v in proposed.items() if k in REVISABLE and current[k] != v}

    def revise(self, proposed: dict[str, Any], reason: str | None = None) -> bool:
        """Correct some fields; §3's rules hold on the result. True when anything changed."""
        changes = self.revision_changes(proposed)
        if not changes:
            return False
        result = {
            "type": changes.get("type", self.type),
            "title": changes.get("title", self.title),
            "format": changes.get("format", self.format),
            "region": changes.get("region", self.region),
        }
        self.check_can_schedule(**result)
        stored = {
            k: (v.isoformat() if isinstance(v, date) else list(v) if isinstance(v, list) else v)
            for k, v in changes.items()
        }
        self._revise(stored, reason)
        return True

    @event(Revised)
    def _revise(self, changes: dict[str, Any], reason: str | None = None) -> None:
        for key, value in changes.items():
            if key == "date":
                self.held_on = date.fromisoformat(value)
            elif key == "partners":
                self.partners = list(value)
            else:
                setattr(self, key, value)

    def reinstate(self, reason: str | None = None) -> None:
        """Undo a cancellation."""
        if not self.cancelled:
            raise NotCancelledError("the activity is not cancelled")
        self._reinstate(reason)

    @event(Reinstated)
    def _reinstate(self, reason: str | None) -> None:
        self.cancelled = False

    def recorded_attendance(self, cooperative_id: UUID) -> Attendance:
        """The cooperative's attendance; 404 when none, `already-withdrawn` when withdrawn."""
        attendance = self.attendances.get(cooperative_id)
        if attendance is not None:
            return attendance
        if cooperative_id in self.withdrawn_attendances:
            raise AlreadyWithdrawnError(f"the attendance of {cooperative_id} was withdrawn")
        raise AttendanceNotFoundError(f"no attendance of {cooperative_id} at {self.id}")

    def correct_attendance(
        self, cooperative_id: UUID, participants: int, reason: str | None = None
    ) -> bool:
        """Correct an attendance's participants; True when anything changed."""
        attendance = self.recorded_attendance(cooperative_id)
        if participants < 1:
            raise ParticipantsError("participants must be at least 1")
        if attendance.participants == participants:
            return False
        self._correct_attendance(cooperative_id, participants, reason)
        return True

    @event(AttendanceCorrected)
    def _correct_attendance(
        self, cooperative_id: UUID, participants: int, reason: str | None
    ) -> None:
        old = self.attendances[cooperative_id]
        self.attendances[cooperative_id] = replace(old, participants=participants)

    def withdraw_attendance(self, cooperative_id: UUID, reason: str | None = None) -> None:
        """Withdraw an attendance recorded by mistake; it may be recorded again afterwards."""
        self.recorded_attendance(cooperative_id)
        self._withdraw_attendance(cooperative_id, reason)

    @event(AttendanceWithdrawn)
    def _withdraw_attendance(self, cooperative_id: UUID, reason: str | None) -> None:
        del self.attendances[cooperative_id]
        self.withdrawn_attendances.add(cooperative_id)

    def recorded_public_attendance(self, record_id: UUID) -> PublicAttendance:
        """A public attendance record; 404 when none, `already-withdrawn` when withdrawn."""
        record = self.public_attendance_record(record_id)
        if record is not None:
            return record
        if record_id in self.withdrawn_public:
            raise AlreadyWithdrawnError(f"the public attendance {record_id} was withdrawn")
        raise AttendanceNotFoundError(f"no public attendance {record_id} at {self.id}")

    def correct_public_attendance(
        self, record_id: UUID, proposed: dict[str, Any], reason: str | None = None
    ) -> bool:
        """Correct a record's count or region; True when anything changed."""
        record = self.recorded_public_attendance(record_id)
        count = proposed.get("count", record.count)
        region = proposed.get("region", record.region)
        if count < 1:
            raise PublicCountError("count must be at least 1")
        check_region(region)
        if (count, region) == (record.count, record.region):
            return False
        self._correct_public_attendance(record_id, count, region, reason)
        return True

    @event(PublicAttendanceCorrected)
    def _correct_public_attendance(
        self, record_id: UUID, count: int, region: str | None, reason: str | None
    ) -> None:
        self.public_attendances = [
            replace(r, count=count, region=region) if r.id == record_id else r
            for r in self.public_attendances
        ]

    def withdraw_public_attendance(self, record_id: UUID, reason: str | None = None) -> None:
        """Withdraw a public attendance record."""
        self.recorded_public_attendance(record_id)
        self._withdraw_public_attendance(record_id, reason)

    @event(PublicAttendanceWithdrawn)
    def _withdraw_public_attendance(self, record_id: UUID, reason: str | None) -> None:
        record = next(r for r in self.public_attendances if r.id == record_id)
        self.public_attendances = [r for r in self.public_attendances if r.id != record_id]
        self.withdrawn_public[record_id] = record


def check_region(region: str | None) -> None:
    """A region, when given, is a Québec administrative region code "01" … "17"."""
    if region is not None and region not in REGION_CODES:
        raise RegionError(f"{region!r} is not a region code 01 to 17")


class EventsError(Exception):
    """Base of the events service's refusals."""


class ActivityNotFoundError(EventsError):
    """No activity has this id."""


class AttendanceNotFoundError(EventsError):
    """No such attendance record at this activity."""


class UnknownActivityTypeError(EventsError):
    """The activity type is not one of the network's types."""


class UnknownFormatError(EventsError):
    """The format is not in_person, remote or hybrid."""


class EmptyTitleError(EventsError):
    """The activity has no title."""


class RegionRequiredError(EventsError):
    """An activity that is not remote needs a region."""


class RegionError(EventsError):
    """The region is not a Québec administrative region code."""


class ParticipantsError(EventsError):
    """An attendance counts at least one participant."""


class PublicCountError(EventsError):
    """A public attendance counts at least one person."""


class ActivityCancelledError(EventsError):
    """The activity is cancelled: nothing more is recorded for it."""


class AlreadyCancelledError(EventsError):
    """The activity was already cancelled."""


class NotCancelledError(EventsError):
    """Only a cancelled activity is reinstated."""


class AlreadyWithdrawnError(EventsError):
    """The record was already withdrawn."""


class ExternalRefTakenError(EventsError):
    """The external reference belongs to a record under another activity."""


class CooperativeNotMemberError(EventsError):
    """The cooperative is not a member on the activity's date, as far as this service knows."""
