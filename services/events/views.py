"""The events service's own tables and representations: activities as listed and filtered."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa

from services.events.domain import Activity, Attendance, PublicAttendance
from shared.application import CoopApplication
from shared.documents import DocumentView, document_table
from shared.integration import rfc3339
from shared.local_view import LocalView

metadata = sa.MetaData()

activities = document_table(
    metadata,
    "events_activities_v2",
    sa.Column("type", sa.String(30), nullable=False, index=True),
    sa.Column("region", sa.String(2), index=True),
    sa.Column("held_on", sa.Date, nullable=False, index=True),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("external_ref", sa.String(200), index=True),
)
"""Activities as listed. Version 2 of the table (with the external reference) has a new name,
so that a store from before it rebuilds it from the notification log at start; the version-1
table `events_activities` is left unused."""

cooperative_attendances = sa.Table(
    "events_cooperative_attendances",
    metadata,
    sa.Column("activity_id", sa.String(36), primary_key=True),
    sa.Column("cooperative_id", sa.String(36), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("participants", sa.Integer, nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Index("events_cooperative_attendances_by_cooperative", "cooperative_id", "position"),
)
"""A cooperative's attendance records across activities (withdrawn ones deleted), in the
order they were recorded: `GET /v1/attendances?cooperative_id=`."""


def represent(activity: Activity) -> dict[str, Any]:
    """The public representation of an activity (contract §3)."""
    return {
        "id": str(activity.id),
        "type": activity.type,
        "title": activity.title,
        "date": activity.held_on.isoformat(),
        "region": activity.region,
        "format": activity.format,
        "partners": list(activity.partners),
        "status": activity.status,
        "member_attendances": activity.member_attendances,
        "public_attendance": activity.public_attendance,
        "external_ref": activity.external_ref,
        "version": activity.version,
    }


def represent_attendance(attendance: Attendance) -> dict[str, Any]:
    """The public representation of a member attendance record."""
    return {
        "activity_id": str(attendance.activity_id),
        "cooperative_id": str(attendance.cooperative_id),
        "participants": attendance.participants,
        "recorded_at": rfc3339(attendance.recorded_at),
    }


def represent_public_attendance(record: PublicAttendance) -> dict[str, Any]:
    """The public representation of a public attendance record."""
    return {
        "id": str(record.id),
        "activity_id": str(record.activity_id),
        "count": record.count,
        "region": record.region,
        "recorded_at": rfc3339(record.recorded_at),
        "external_ref": record.external_ref,
    }


def _columns(activity: Activity) -> dict[str, Any]:
    return {
        "type": activity.type,
        "region": activity.region,
        "held_on": activity.held_on,
        "status": activity.status,
        "external_ref": activity.external_ref,
    }


class ActivityCatalogue(DocumentView):
    """Activities for lists, filtered by type, region and date."""

    def __init__(self, app: CoopApplication, serial: threading.RLock | None = None) -> None:
        super().__init__(app, activities, represent, _columns, applies_to=Activity)
        self.serial = serial or threading.RLock()

    def catch_up(self) -> None:
        """Bring the table up to the event store, never while a command is being saved."""
        with self.serial:
            super().catch_up()

    def list(
        self,
        *,
        type: str | None,
        region: str | None,
        start: date | None,
        end: date | None,
        after: int,
        limit: int,
        external_ref: str | None = None,
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """A page of activities matching the filters (dates inclusive), in creation order."""
        self.catch_up()
        where = []
        if external_ref:
            where.append(activities.c.external_ref == external_ref)
        if type:
            where.append(activities.c.type == type)
        if region:
            where.append(activities.c.region == region)
        if start:
            where.append(activities.c.held_on >= start)
        if end:
            where.append(activities.c.held_on <= end)
        with self.app.database.reading() as conn:
            return self.page(conn, where, after, limit)


class AttendanceIndex:
    """Member attendance records by cooperative, kept from the notification log."""

    def __init__(self, app: CoopApplication, serial: threading.RLock | None = None) -> None:
        self.app = app
        self.serial = serial or threading.RLock()
        self.follower = LocalView(app, cooperative_attendances.name, self.apply_batch)

    def catch_up(self) -> None:
        """Bring the table up to the event store, never while a command is being saved."""
        with self.serial:
            self.follower.catch_up()

    def apply_batch(self, conn: sa.Connection, events: Sequence[tuple[int, Any]]) -> None:
        """Insert attended, update corrected, delete withdrawn attendance records."""
        table = cooperative_attendances
        for position, event in events:
            if not isinstance(
                event,
                Activity.Attended | Activity.AttendanceCorrected | Activity.AttendanceWithdrawn,
            ):
                continue
            key = (table.c.activity_id == str(event.originator_id)) & (
                table.c.cooperative_id == str(event.cooperative_id)
            )
            if isinstance(event, Activity.Attended):
                conn.execute(sa.delete(table).where(key))
                conn.execute(
                    sa.insert(table).values(
                        activity_id=str(event.originator_id),
                        cooperative_id=str(event.cooperative_id),
                        position=position,
                        participants=event.participants,
                        recorded_at=rfc3339(event.recorded_at),
                    )
                )
            elif isinstance(event, Activity.AttendanceCorrected):
                conn.execute(sa.update(table).where(key).values(participants=event.participants))
            else:
                conn.execute(sa.delete(table).where(key))

    def list(
        self, cooperative_id: str, *, after: int, limit: int
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """A page of the cooperative's attendance records, oldest first."""
        self.catch_up()
        table = cooperative_attendances
        with self.app.database.reading() as conn:
            rows = conn.execute(
                sa.select(table)
                .where(table.c.cooperative_id == cooperative_id, table.c.position > after)
                .order_by(table.c.position)
                .limit(limit + 1)
            ).all()
        items = [
            {
                "activity_id": r.activity_id,
                "cooperative_id": r.cooperative_id,
                "participants": r.participants,
                "recorded_at": r.recorded_at,
            }
            for r in rows
        ]
        return items, [r.position for r in rows]
