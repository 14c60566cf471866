"""Projection of the integration events (CONTRACT §7) into the reporting fact model.

``apply_event`` applies one envelope to one generation of the fact tables. It is deterministic
(no clock, no randomness) and tolerant of events that reference rows it has not seen: an
attendance, public attendance or cancellation before its activity, an ambassador's action or
end before the enrolment, a profile update or departure of an unknown cooperative. Exactly-once
delivery is the caller's job (stream sequence tracking in the same transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from services.reporting.facts import (
    FACT_TABLES,
    activities,
    activity_partners,
    ambassador_actions,
    ambassadors,
    attendances,
    cooperatives,
    membership_periods,
    public_attendances,
)

Envelope = Mapping[str, Any]
Data = Mapping[str, Any]

PROFILE_FIELDS = ("name", "region", "sector", "worker_members", "neq")


class ProjectionError(ValueError):
    """An integration event cannot be applied: its envelope or data is malformed."""


def apply_event(conn: sa.Connection, generation: int, envelope: Mapping[str, Any]) -> None:
    """Apply one integration event envelope to the fact tables of ``generation``."""
    if not isinstance(envelope, Mapping):
        raise ProjectionError("the envelope is not an object")
    event_type = envelope.get("event_type")
    if not isinstance(event_type, str):
        raise ProjectionError("the envelope has no event_type")
    handler = _HANDLERS.get(event_type)
    if handler is None:
        return  # an event type the reporting service does not project
    data = envelope.get("data")
    if not isinstance(data, Mapping):
        raise ProjectionError(f"{event_type}: data is not an object")
    handler(_Context(conn, generation, envelope, data))


def drop_generation(conn: sa.Connection, generation: int) -> None:
    """Delete every fact of ``generation`` (e.g. a replaced or abandoned rebuild)."""
    for table in FACT_TABLES:
        conn.execute(sa.delete(table).where(table.c.generation == generation))


class _Context:
    """One event being applied: the connection, the generation and the event's fields."""

    def __init__(
        self, conn: sa.Connection, generation: int, envelope: Envelope, data: Data
    ) -> None:
        self.conn = conn
        self.generation = generation
        self.envelope = envelope
        self.data = data
        self.event_type = str(envelope.get("event_type"))

    def fail(self, message: str) -> ProjectionError:
        return ProjectionError(f"{self.event_type}: {message}")

    def identifier(self, field: str) -> str:
        """A required id from data, falling back on the envelope's aggregate_id."""
        value = self.data.get(field)
        if value is None:
            value = self.envelope.get("aggregate_id")
        if not isinstance(value, str) or not value:
            raise self.fail(f"{field} is missing")
        return value

    def event_id(self) -> str:
        value = self.envelope.get("event_id")
        if not isinstance(value, str) or not value:
            raise self.fail("event_id is missing")
        return value

    def required_date(self, field: str) -> date:
        value = self.optional_date(field)
        if value is None:
            raise self.fail(f"{field} is missing")
        return value

    def optional_date(self, field: str) -> date | None:
        value = self.data.get(field)
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(f"{field} is not a date: {value!r}")

    def optional_int(self, field: str, default: int | None = None) -> int | None:
        value = self.data.get(field)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{field} is not an integer: {value!r}")
        return value

    def required_int(self, field: str) -> int:
        value = self.optional_int(field)
        if value is None:
            raise self.fail(f"{field} is missing")
        return value

    def optional_text(self, field: str, data: Data | None = None) -> str | None:
        value = (self.data if data is None else data).get(field)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{field} is not a string: {value!r}")
        return value


# --- membership -------------------------------------------------------------------------------


def _profile_values(ctx: _Context, source: Data) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in PROFILE_FIELDS:
        if field not in source:
            continue
        if field == "worker_members":
            value = source[field]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ctx.fail(f"worker_members is not an integer: {value!r}")
            values[field] = value
        else:
            values[field] = ctx.optional_text(field, source)
    return values


def _cooperative_row(ctx: _Context, cooperative_id: str) -> sa.Row[Any] | None:
    return ctx.conn.execute(
        sa.select(cooperatives).where(
            cooperatives.c.generation == ctx.generation,
            cooperatives.c.cooperative_id == cooperative_id,
        )
    ).first()


def _ensure_cooperative(ctx: _Context, cooperative_id: str) -> None:
    if _cooperative_row(ctx, cooperative_id) is None:
        ctx.conn.execute(
            sa.insert(cooperatives).values(generation=ctx.generation, cooperative_id=cooperative_id)
        )


def _update_cooperative(ctx: _Context, cooperative_id: str, values: Mapping[str, Any]) -> None:
    if values:
        ctx.conn.execute(
            sa.update(cooperatives)
            .where(
                cooperatives.c.generation == ctx.generation,
                cooperatives.c.cooperative_id == cooperative_id,
            )
            .values(**values)
        )


def _periods(ctx: _Context, cooperative_id: str) -> list[sa.Row[Any]]:
    return list(
        ctx.conn.execute(
            sa.select(membership_periods)
            .where(
                membership_periods.c.generation == ctx.generation,
                membership_periods.c.cooperative_id == cooperative_id,
            )
            .order_by(membership_periods.c.period_number)
        )
    )


def _add_period(
    ctx: _Context,
    cooperative_id: str,
    periods: list[sa.Row[Any]],
    start: date | None,
    end: date | None,
) -> None:
    number = max((p.period_number for p in periods), default=0) + 1
    ctx.conn.execute(
        sa.insert(membership_periods).values(
            generation=ctx.generation,
            cooperative_id=cooperative_id,
            period_number=number,
            start_on=start,
            end_on=end,
        )
    )


def _open_period(ctx: _Context, cooperative_id: str, start: date) -> None:
    """Open a period on ``start`` unless one already starts that day."""
    periods = _periods(ctx, cooperative_id)
    if all(p.start_on != start for p in periods):
        _add_period(ctx, cooperative_id, periods, start, None)


def _coop_joined(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    joined_on = ctx.required_date("joined_on")
    profile = _profile_values(ctx, ctx.data)
    existing = _cooperative_row(ctx, cooperative_id)
    if existing is None:
        ctx.conn.execute(
            sa.insert(cooperatives).values(
                generation=ctx.generation, cooperative_id=cooperative_id, **profile
            )
        )
    else:
        # The row came from events applied earlier; keep what they set, fill in the rest.
        missing = {k: v for k, v in profile.items() if getattr(existing, k) is None}
        _update_cooperative(ctx, cooperative_id, missing)
    _open_period(ctx, cooperative_id, joined_on)


def _coop_profile_updated(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    changes = ctx.data.get("changes", {})
    if not isinstance(changes, Mapping):
        raise ctx.fail("changes is not an object")
    _ensure_cooperative(ctx, cooperative_id)
    _update_cooperative(ctx, cooperative_id, _profile_values(ctx, changes))


def _coop_left(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    left_on = ctx.required_date("left_on")
    _ensure_cooperative(ctx, cooperative_id)
    closed = ctx.conn.execute(
        sa.update(membership_periods)
        .where(
            membership_periods.c.generation == ctx.generation,
            membership_periods.c.cooperative_id == cooperative_id,
            membership_periods.c.end_on.is_(None),
        )
        .values(end_on=left_on)
    ).rowcount
    if closed:
        return
    periods = _periods(ctx, cooperative_id)
    if all(p.end_on != left_on for p in periods):
        # A departure without a known open period: keep it, so that it is counted as a
        # departure; a null start never makes the cooperative active.
        _add_period(ctx, cooperative_id, periods, None, left_on)


def _coop_rejoined(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    rejoined_on = ctx.required_date("rejoined_on")
    _ensure_cooperative(ctx, cooperative_id)
    _open_period(ctx, cooperative_id, rejoined_on)


# --- activities and attendance ----------------------------------------------------------------


def _activity_row(ctx: _Context, activity_id: str) -> sa.Row[Any] | None:
    return ctx.conn.execute(
        sa.select(activities).where(
            activities.c.generation == ctx.generation,
            activities.c.activity_id == activity_id,
        )
    ).first()


def _activity_key(ctx: _Context, activity_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        activities.c.generation == ctx.generation,
        activities.c.activity_id == activity_id,
    )


def _ensure_activity(ctx: _Context, activity_id: str) -> sa.Row[Any]:
    """The activity's row, inserting a placeholder (not yet scheduled) when it is unknown."""
    row = _activity_row(ctx, activity_id)
    if row is None:
        ctx.conn.execute(
            sa.insert(activities).values(
                generation=ctx.generation,
                activity_id=activity_id,
                scheduled=False,
                cancelled=False,
                member_attendances=0,
                participants=0,
            )
        )
        row = _activity_row(ctx, activity_id)
        assert row is not None
    return row


def _partner_names(ctx: _Context) -> dict[str, str]:
    """Partners keyed by their trimmed, case-folded name (first spelling kept)."""
    partners = ctx.data.get("partners") or []
    if not isinstance(partners, list | tuple):
        raise ctx.fail("partners is not a list")
    names: dict[str, str] = {}
    for partner in partners:
        if not isinstance(partner, str):
            raise ctx.fail(f"a partner is not a string: {partner!r}")
        name = partner.strip()
        key = name.casefold()
        if key and key not in names:
            names[key] = name
    return names


def _activity_scheduled(ctx: _Context) -> None:
    activity_id = ctx.identifier("activity_id")
    values = {
        "type": ctx.optional_text("type"),
        "title": ctx.optional_text("title"),
        "activity_date": ctx.optional_date("date"),
        "region": ctx.optional_text("region"),
        "format": ctx.optional_text("format"),
        "scheduled": True,
    }
    partners = _partner_names(ctx)
    _ensure_activity(ctx, activity_id)  # an earlier cancellation or attendance keeps its effect
    ctx.conn.execute(sa.update(activities).where(*_activity_key(ctx, activity_id)).values(values))
    ctx.conn.execute(
        sa.delete(activity_partners).where(
            activity_partners.c.generation == ctx.generation,
            activity_partners.c.activity_id == activity_id,
        )
    )
    if partners:
        ctx.conn.execute(
            sa.insert(activity_partners),
            [
                {
                    "generation": ctx.generation,
                    "activity_id": activity_id,
                    "partner_key": key,
                    "partner": name,
                }
                for key, name in partners.items()
            ],
        )
    # Attendance recorded before the activity was known takes the activity's type and date.
    ctx.conn.execute(
        sa.update(attendances)
        .where(
            attendances.c.generation == ctx.generation,
            attendances.c.activity_id == activity_id,
        )
        .values(activity_type=values["type"], activity_date=values["activity_date"])
    )


def _activity_cancelled(ctx: _Context) -> None:
    activity_id = ctx.identifier("activity_id")
    _ensure_activity(ctx, activity_id)
    ctx.conn.execute(
        sa.update(activities).where(*_activity_key(ctx, activity_id)).values(cancelled=True)
    )
    ctx.conn.execute(
        sa.update(attendances)
        .where(
            attendances.c.generation == ctx.generation,
            attendances.c.activity_id == activity_id,
        )
        .values(activity_cancelled=True)
    )


def _activity_attended(ctx: _Context) -> None:
    activity_id = ctx.identifier("activity_id")
    cooperative_id = ctx.data.get("cooperative_id")
    if not isinstance(cooperative_id, str) or not cooperative_id:
        raise ctx.fail("cooperative_id is missing")
    participants = ctx.optional_int("participants", default=1) or 0
    told_type = ctx.optional_text("activity_type")
    told_date = ctx.optional_date("activity_date")
    activity = _ensure_activity(ctx, activity_id)
    activity_type, activity_date = activity.type, activity.activity_date
    if not activity.scheduled:
        # Not scheduled yet: the attendance tells the activity's type and date.
        activity_type = activity_type or told_type
        activity_date = activity_date or told_date
        ctx.conn.execute(
            sa.update(activities)
            .where(*_activity_key(ctx, activity_id))
            .values(type=activity_type, activity_date=activity_date)
        )
    key = (
        attendances.c.generation == ctx.generation,
        attendances.c.activity_id == activity_id,
        attendances.c.cooperative_id == cooperative_id,
    )
    values = {
        "participants": participants,
        "activity_type": activity_type,
        "activity_date": activity_date,
        "activity_cancelled": bool(activity.cancelled),
    }
    previous = ctx.conn.execute(sa.select(attendances.c.participants).where(*key)).scalar()
    if previous is None:
        ctx.conn.execute(
            sa.insert(attendances).values(
                generation=ctx.generation,
                activity_id=activity_id,
                cooperative_id=cooperative_id,
                **values,
            )
        )
    else:  # the same cooperative again: its record is replaced, not added
        ctx.conn.execute(sa.update(attendances).where(*key).values(**values))
    ctx.conn.execute(
        sa.update(activities)
        .where(*_activity_key(ctx, activity_id))
        .values(
            member_attendances=activities.c.member_attendances + (1 if previous is None else 0),
            participants=activities.c.participants + participants - (previous or 0),
        )
    )


def _public_attendance_recorded(ctx: _Context) -> None:
    event_id = ctx.event_id()
    activity_id = ctx.identifier("activity_id")
    values = {
        "activity_id": activity_id,
        "attendee_count": ctx.required_int("count"),
        "region": ctx.optional_text("region"),
    }
    key = (
        public_attendances.c.generation == ctx.generation,
        public_attendances.c.event_id == event_id,
    )
    if ctx.conn.execute(sa.select(public_attendances.c.event_id).where(*key)).first() is None:
        ctx.conn.execute(
            sa.insert(public_attendances).values(
                generation=ctx.generation, event_id=event_id, **values
            )
        )
    else:
        ctx.conn.execute(sa.update(public_attendances).where(*key).values(**values))


# --- ambassadors ------------------------------------------------------------------------------


def _ambassador_row(ctx: _Context, ambassador_id: str) -> sa.Row[Any] | None:
    return ctx.conn.execute(
        sa.select(ambassadors).where(
            ambassadors.c.generation == ctx.generation,
            ambassadors.c.ambassador_id == ambassador_id,
        )
    ).first()


def _update_ambassador(ctx: _Context, ambassador_id: str, values: Mapping[str, Any]) -> None:
    ctx.conn.execute(
        sa.update(ambassadors)
        .where(
            ambassadors.c.generation == ctx.generation,
            ambassadors.c.ambassador_id == ambassador_id,
        )
        .values(**values)
    )


def _ambassador_enrolled(ctx: _Context) -> None:
    ambassador_id = ctx.identifier("ambassador_id")
    values = {
        "cooperative_id": ctx.optional_text("cooperative_id"),
        "enrolled_on": ctx.required_date("enrolled_on"),
    }
    if _ambassador_row(ctx, ambassador_id) is None:
        ctx.conn.execute(
            sa.insert(ambassadors).values(
                generation=ctx.generation, ambassador_id=ambassador_id, **values
            )
        )
    else:  # known from an earlier end or action: keep its end
        _update_ambassador(ctx, ambassador_id, values)


def _end_ambassador(ctx: _Context, date_field: str, reason: str) -> None:
    ambassador_id = ctx.identifier("ambassador_id")
    ended_on = ctx.required_date(date_field)
    existing = _ambassador_row(ctx, ambassador_id)
    if existing is None:
        ctx.conn.execute(
            sa.insert(ambassadors).values(
                generation=ctx.generation,
                ambassador_id=ambassador_id,
                ended_on=ended_on,
                end_reason=reason,
            )
        )
    elif existing.ended_on is None or ended_on < existing.ended_on:
        # An ambassador ends once; should two ends arrive, the earlier one holds.
        _update_ambassador(ctx, ambassador_id, {"ended_on": ended_on, "end_reason": reason})


def _ambassador_retired(ctx: _Context) -> None:
    _end_ambassador(ctx, "retired_on", "retired")


def _ambassador_deactivated(ctx: _Context) -> None:
    _end_ambassador(ctx, "effective_on", "deactivated")


def _ambassador_action_logged(ctx: _Context) -> None:
    event_id = ctx.event_id()
    values = {
        "ambassador_id": ctx.identifier("ambassador_id"),
        "kind": ctx.optional_text("kind"),
        "performed_on": ctx.required_date("performed_on"),
        "activity_id": ctx.optional_text("activity_id"),
        "people_reached": ctx.optional_int("people_reached", default=0),
    }
    key = (
        ambassador_actions.c.generation == ctx.generation,
        ambassador_actions.c.event_id == event_id,
    )
    if ctx.conn.execute(sa.select(ambassador_actions.c.event_id).where(*key)).first() is None:
        ctx.conn.execute(
            sa.insert(ambassador_actions).values(
                generation=ctx.generation, event_id=event_id, **values
            )
        )
    else:
        ctx.conn.execute(sa.update(ambassador_actions).where(*key).values(**values))


_HANDLERS: dict[str, Callable[[_Context], None]] = {
    "CoopJoined": _coop_joined,
    "CoopProfileUpdated": _coop_profile_updated,
    "CoopLeft": _coop_left,
    "CoopRejoined": _coop_rejoined,
    "ActivityScheduled": _activity_scheduled,
    "ActivityCancelled": _activity_cancelled,
    "ActivityAttended": _activity_attended,
    "PublicAttendanceRecorded": _public_attendance_recorded,
    "AmbassadorEnrolled": _ambassador_enrolled,
    "AmbassadorActionLogged": _ambassador_action_logged,
    "AmbassadorRetired": _ambassador_retired,
    "AmbassadorDeactivated": _ambassador_deactivated,
}

PROJECTED_EVENT_TYPES: frozenset[str] = frozenset(_HANDLERS)
