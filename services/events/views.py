"""The events service's own tables and representations: activities as listed and filtered."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import sqlalchemy as sa

from services.events.domain import Activity, Attendance, PublicAttendance
from shared.application import CoopApplication
from shared.documents import DocumentView, document_table
from shared.integration import rfc3339

metadata = sa.MetaData()

activities = document_table(
    metadata,
    "events_activities",
    sa.Column("type", sa.String(30), nullable=False, index=True),
    sa.Column("region", sa.String(2), index=True),
    sa.Column("held_on", sa.Date, nullable=False, index=True),
    sa.Column("status", sa.String(10), nullable=False, index=True),
)


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
    }


def _columns(activity: Activity) -> dict[str, Any]:
    return {
        "type": activity.type,
        "region": activity.region,
        "held_on": activity.held_on,
        "status": activity.status,
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
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """A page of activities matching the filters (dates inclusive), in creation order."""
        self.catch_up()
        where = []
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
