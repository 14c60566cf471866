"""The network's activities and who attended them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.fields import REGION_CODES

ACTIVITY_TYPES = (
    "formation",
    "courtepointe",
    "service_conseil",
    "conference",
    "reseautage",
    "cine_discussion",
    "parcours_coop",
    "autre",
)
FORMATS = ("in_person", "remote", "hybrid")


@dataclass(frozen=True)
class Attendance:
    """A member cooperative's attendance at an activity (one per cooperative and activity)."""

    activity_id: UUID
    cooperative_id: UUID
    participants: int
    recorded_at: datetime


@dataclass(frozen=True)
class PublicAttendance:
    """People who attended without a member cooperative (film-discussion audiences…)."""

    id: UUID
    activity_id: UUID
    count: int
    region: str | None
    recorded_at: datetime


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

    class Attended(Aggregate.Event):
        """A member cooperative attended; the activity's type and date travel with it."""

        cooperative_id: UUID
        participants: int
        activity_type: str
        activity_date: date
        recorded_at: datetime

    class PublicAttendanceRecorded(Aggregate.Event):
        """People who are not counted through a member cooperative attended."""

        record_id: UUID
        count: int
        region: str | None
        recorded_at: datetime

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
    ) -> None:
        self.type = type
        self.title = title
        self.held_on = held_on
        self.format = format
        self.region = region
        self.partners = list(partners)
        self.cancelled = False
        self.attendances: dict[UUID, Attendance] = {}
        self.public_attendances: list[PublicAttendance] = []

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
        self.attendances[cooperative_id] = Attendance(
            self.id, cooperative_id, participants, recorded_at
        )

    def record_public_attendance(
        self, record_id: UUID, count: int, region: str | None = None
    ) -> PublicAttendance:
        """Add people who attended without a member cooperative."""
        self.check_open()
        if count < 1:
            raise PublicCountError("count must be at least 1")
        check_region(region)
        self._record_public_attendance(record_id, count, region, datetime.now(UTC))
        return self.public_attendances[-1]

    @event(PublicAttendanceRecorded)
    def _record_public_attendance(
        self, record_id: UUID, count: int, region: str | None, recorded_at: datetime
    ) -> None:
        self.public_attendances.append(
            PublicAttendance(record_id, self.id, count, region, recorded_at)
        )

    def cancel(self, reason: str | None = None) -> None:
        """Cancel the activity, once."""
        if self.cancelled:
            raise AlreadyCancelledError("the activity is already cancelled")
        self._cancel(reason)

    @event(Cancelled)
    def _cancel(self, reason: str | None) -> None:
        self.cancelled = True


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


class CooperativeNotMemberError(EventsError):
    """The cooperative is not a member on the activity's date, as far as this service knows."""
