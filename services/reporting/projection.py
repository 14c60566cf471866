"""Projection of the integration events (CONTRACT §7) into the reporting fact model.

A ``FactBatch`` applies envelopes, in order, to one generation of the fact tables: it reads the
rows its events touch with one query per table, applies every event to them in memory, then
writes the rows that changed with one upsert per table. How a history is cut into batches does
not change the facts; ``apply_event`` is a batch of one.

Application is deterministic (no clock, no randomness) and tolerant of events that reference
rows it has not seen: an attendance, public attendance or cancellation before its activity, an
ambassador's action or end before the enrolment, a profile update or departure of an unknown
cooperative. Exactly-once delivery is the caller's job (stream sequence tracking in the same
transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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
Row = dict[str, Any]

PROFILE_FIELDS = ("name", "region", "sector", "worker_members", "neq")
MEMBERSHIP_EVENTS = frozenset({"CoopJoined", "CoopProfileUpdated", "CoopLeft", "CoopRejoined"})
ACTIVITY_EVENTS = frozenset({"ActivityScheduled", "ActivityCancelled", "ActivityAttended"})
AMBASSADOR_EVENTS = frozenset({"AmbassadorEnrolled", "AmbassadorRetired", "AmbassadorDeactivated"})


class ProjectionError(ValueError):
    """An integration event cannot be applied: its envelope or data is malformed."""


def apply_event(conn: sa.Connection, generation: int, envelope: Envelope) -> None:
    """Apply one integration event envelope to the fact tables of ``generation``."""
    apply_events(conn, generation, [envelope])


def apply_events(conn: sa.Connection, generation: int, envelopes: Sequence[Envelope]) -> None:
    """Apply integration event envelopes, in order, to the fact tables of ``generation``."""
    batch = FactBatch(conn, generation, envelopes)
    for envelope in envelopes:
        batch.apply(envelope)
    batch.flush()


def drop_generation(conn: sa.Connection, generation: int) -> None:
    """Delete every fact of ``generation`` (e.g. a replaced or abandoned rebuild)."""
    for table in FACT_TABLES:
        conn.execute(sa.delete(table).where(table.c.generation == generation))


class _Rows:
    """The rows of one fact table that a batch reads or writes, by key (generation aside).

    ``group`` names the column by which rows are also listed (a cooperative's periods, an
    activity's attendances).
    """

    def __init__(self, table: sa.Table, group: str | None = None) -> None:
        self.table = table
        self.key_columns = [c.name for c in table.primary_key.columns if c.name != "generation"]
        self.group = group
        self.rows: dict[Any, Row] = {}
        self.groups: dict[Any, list[Row]] = {}
        self.changed: dict[Any, None] = {}  # keys, in the order they first changed

    def key(self, row: Row) -> Any:
        if len(self.key_columns) == 1:
            return row[self.key_columns[0]]
        return tuple(row[c] for c in self.key_columns)

    def load(
        self, conn: sa.Connection, generation: int, column: str, values: Iterable[Any]
    ) -> None:
        """Read the rows whose ``column`` is one of ``values``."""
        wanted = sorted(set(values))
        if not wanted:
            return
        if self.group == column:
            for value in wanted:
                self.groups.setdefault(value, [])
        table = self.table
        for chunk in _chunks(wanted):
            query = sa.select(table).where(
                table.c.generation == generation, table.c[column].in_(chunk)
            )
            for found in conn.execute(query):
                row = dict(found._mapping)
                del row["generation"]
                self._keep(row)

    def _keep(self, row: Row) -> None:
        self.rows[self.key(row)] = row
        if self.group is not None:
            self.groups.setdefault(row[self.group], []).append(row)

    def get(self, key: Any) -> Row | None:
        return self.rows.get(key)

    def group_of(self, value: Any) -> list[Row]:
        """The rows whose group column is ``value``."""
        return self.groups.get(value, [])

    def add(self, row: Row) -> Row:
        """A new row, to be written."""
        self._keep(row)
        self.changed[self.key(row)] = None
        return row

    def update(self, row: Row, values: Mapping[str, Any]) -> None:
        """Change a row's columns; it is written only when a value differs."""
        for column, value in values.items():
            if row[column] != value:
                row[column] = value
                self.changed[self.key(row)] = None

    def flush(self, conn: sa.Connection, generation: int) -> None:
        """Write every row that changed."""
        if self.changed:
            rows = [{"generation": generation, **self.rows[key]} for key in self.changed]
            conn.execute(_upsert(conn.dialect.name, self.table), rows)
            self.changed.clear()


_UPSERTS: dict[tuple[str, str], sa.Insert] = {}


def _upsert(dialect: str, table: sa.Table) -> sa.Insert:
    """INSERT … ON CONFLICT (primary key) DO UPDATE of every other column, for ``dialect``."""
    statement = _UPSERTS.get((dialect, table.name))
    if statement is None:
        insert = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(table)
        keys = [c.name for c in table.primary_key.columns]
        statement = insert.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: insert.excluded[c.name] for c in table.columns if c.name not in keys},
        )
        _UPSERTS[(dialect, table.name)] = statement
    return statement


def _chunks(values: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class FactBatch:
    """Envelopes applied in memory to the rows they touch, then written in one go."""

    def __init__(self, conn: sa.Connection, generation: int, envelopes: Sequence[Envelope]) -> None:
        self.conn = conn
        self.generation = generation
        self.cooperatives = _Rows(cooperatives)
        self.periods = _Rows(membership_periods, group="cooperative_id")
        self.activities = _Rows(activities)
        self.attendances = _Rows(attendances, group="activity_id")
        self.ambassadors = _Rows(ambassadors)
        self.public_attendances = _Rows(public_attendances)
        self.actions = _Rows(ambassador_actions)
        self.partners: dict[str, dict[str, str]] = {}  # an activity's partners, replaced
        self._load(envelopes)

    def _load(self, envelopes: Sequence[Envelope]) -> None:
        ids: dict[str, set[str]] = {
            "cooperative_id": set(),
            "activity_id": set(),
            "ambassador_id": set(),
        }
        for envelope in envelopes:
            event_type = envelope.get("event_type") if isinstance(envelope, Mapping) else None
            field = (
                "cooperative_id"
                if event_type in MEMBERSHIP_EVENTS
                else "activity_id"
                if event_type in ACTIVITY_EVENTS
                else "ambassador_id"
                if event_type in AMBASSADOR_EVENTS
                else None
            )
            data = envelope.get("data") if field else None
            if field and isinstance(data, Mapping):
                value = data.get(field)
                if value is None:
                    value = envelope.get("aggregate_id")
                if isinstance(value, str):
                    ids[field].add(value)
        conn, generation = self.conn, self.generation
        self.cooperatives.load(conn, generation, "cooperative_id", ids["cooperative_id"])
        self.periods.load(conn, generation, "cooperative_id", ids["cooperative_id"])
        self.activities.load(conn, generation, "activity_id", ids["activity_id"])
        self.attendances.load(conn, generation, "activity_id", ids["activity_id"])
        self.ambassadors.load(conn, generation, "ambassador_id", ids["ambassador_id"])

    def apply(self, envelope: Envelope) -> None:
        """Apply one envelope to the batch's rows."""
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
        handler(_Context(self, envelope, data))

    def flush(self) -> None:
        """Write every row the batch changed."""
        conn, generation = self.conn, self.generation
        for table_rows in (
            self.cooperatives,
            self.periods,
            self.activities,
            self.attendances,
            self.public_attendances,
            self.ambassadors,
            self.actions,
        ):
            table_rows.flush(conn, generation)
        if self.partners:
            table = activity_partners
            for chunk in _chunks(sorted(self.partners)):
                conn.execute(
                    sa.delete(table).where(
                        table.c.generation == generation, table.c.activity_id.in_(chunk)
                    )
                )
            partner_rows = [
                {
                    "generation": generation,
                    "activity_id": activity_id,
                    "partner_key": key,
                    "partner": name,
                }
                for activity_id, names in self.partners.items()
                for key, name in names.items()
            ]
            if partner_rows:
                conn.execute(sa.insert(table), partner_rows)
            self.partners.clear()


class _Context:
    """One event being applied: the batch, the event's fields and their checks."""

    def __init__(self, batch: FactBatch, envelope: Envelope, data: Data) -> None:
        self.batch = batch
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


def _ensure_cooperative(ctx: _Context, cooperative_id: str) -> Row:
    row = ctx.batch.cooperatives.get(cooperative_id)
    if row is None:
        row = ctx.batch.cooperatives.add(
            {"cooperative_id": cooperative_id, **dict.fromkeys(PROFILE_FIELDS)}
        )
    return row


def _add_period(ctx: _Context, cooperative_id: str, start: date | None, end: date | None) -> None:
    periods = ctx.batch.periods.group_of(cooperative_id)
    number = max((p["period_number"] for p in periods), default=0) + 1
    ctx.batch.periods.add(
        {
            "cooperative_id": cooperative_id,
            "period_number": number,
            "start_on": start,
            "end_on": end,
        }
    )


def _open_period(ctx: _Context, cooperative_id: str, start: date) -> None:
    """Open a period on ``start`` unless one already starts that day."""
    if all(p["start_on"] != start for p in ctx.batch.periods.group_of(cooperative_id)):
        _add_period(ctx, cooperative_id, start, None)


def _coop_joined(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    joined_on = ctx.required_date("joined_on")
    profile = _profile_values(ctx, ctx.data)
    existing = ctx.batch.cooperatives.get(cooperative_id)
    if existing is None:
        ctx.batch.cooperatives.add(
            {"cooperative_id": cooperative_id, **dict.fromkeys(PROFILE_FIELDS), **profile}
        )
    else:
        # The row came from events applied earlier; keep what they set, fill in the rest.
        missing = {k: v for k, v in profile.items() if existing[k] is None}
        ctx.batch.cooperatives.update(existing, missing)
    _open_period(ctx, cooperative_id, joined_on)


def _coop_profile_updated(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    changes = ctx.data.get("changes", {})
    if not isinstance(changes, Mapping):
        raise ctx.fail("changes is not an object")
    row = _ensure_cooperative(ctx, cooperative_id)
    ctx.batch.cooperatives.update(row, _profile_values(ctx, changes))


def _coop_left(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    left_on = ctx.required_date("left_on")
    _ensure_cooperative(ctx, cooperative_id)
    periods = ctx.batch.periods.group_of(cooperative_id)
    open_periods = [p for p in periods if p["end_on"] is None]
    for period in open_periods:
        ctx.batch.periods.update(period, {"end_on": left_on})
    if not open_periods and all(p["end_on"] != left_on for p in periods):
        # A departure without a known open period: keep it, so that it is counted as a
        # departure; a null start never makes the cooperative active.
        _add_period(ctx, cooperative_id, None, left_on)


def _coop_rejoined(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    rejoined_on = ctx.required_date("rejoined_on")
    _ensure_cooperative(ctx, cooperative_id)
    _open_period(ctx, cooperative_id, rejoined_on)


# --- activities and attendance ----------------------------------------------------------------


def _ensure_activity(ctx: _Context, activity_id: str) -> Row:
    """The activity's row, adding a placeholder (not yet scheduled) when it is unknown."""
    row = ctx.batch.activities.get(activity_id)
    if row is None:
        row = ctx.batch.activities.add(
            {
                "activity_id": activity_id,
                "type": None,
                "title": None,
                "activity_date": None,
                "region": None,
                "format": None,
                "scheduled": False,
                "cancelled": False,
                "member_attendances": 0,
                "participants": 0,
            }
        )
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


def _update_attendances(ctx: _Context, activity_id: str, values: Mapping[str, Any]) -> None:
    """Copy the activity's fields onto every attendance record of the activity."""
    for attendance in ctx.batch.attendances.group_of(activity_id):
        ctx.batch.attendances.update(attendance, values)


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
    # An earlier cancellation or attendance keeps its effect.
    ctx.batch.activities.update(_ensure_activity(ctx, activity_id), values)
    ctx.batch.partners[activity_id] = partners
    # Attendance recorded before the activity was known takes the activity's type and date.
    _update_attendances(
        ctx,
        activity_id,
        {"activity_type": values["type"], "activity_date": values["activity_date"]},
    )


def _activity_cancelled(ctx: _Context) -> None:
    activity_id = ctx.identifier("activity_id")
    ctx.batch.activities.update(_ensure_activity(ctx, activity_id), {"cancelled": True})
    _update_attendances(ctx, activity_id, {"activity_cancelled": True})


def _activity_attended(ctx: _Context) -> None:
    activity_id = ctx.identifier("activity_id")
    cooperative_id = ctx.data.get("cooperative_id")
    if not isinstance(cooperative_id, str) or not cooperative_id:
        raise ctx.fail("cooperative_id is missing")
    participants = ctx.optional_int("participants", default=1) or 0
    told_type = ctx.optional_text("activity_type")
    told_date = ctx.optional_date("activity_date")
    activity = _ensure_activity(ctx, activity_id)
    if not activity["scheduled"]:
        # Not scheduled yet: the attendance tells the activity's type and date.
        ctx.batch.activities.update(
            activity,
            {
                "type": activity["type"] or told_type,
                "activity_date": activity["activity_date"] or told_date,
            },
        )
    values = {
        "participants": participants,
        "activity_type": activity["type"],
        "activity_date": activity["activity_date"],
        "activity_cancelled": bool(activity["cancelled"]),
    }
    previous = ctx.batch.attendances.get((activity_id, cooperative_id))
    if previous is None:
        ctx.batch.attendances.add(
            {"activity_id": activity_id, "cooperative_id": cooperative_id, **values}
        )
        added, replaced = 1, 0
    else:  # the same cooperative again: its record is replaced, not added
        added, replaced = 0, previous["participants"]
        ctx.batch.attendances.update(previous, values)
    ctx.batch.activities.update(
        activity,
        {
            "member_attendances": activity["member_attendances"] + added,
            "participants": activity["participants"] + participants - replaced,
        },
    )


def _public_attendance_recorded(ctx: _Context) -> None:
    ctx.batch.public_attendances.add(
        {
            "event_id": ctx.event_id(),
            "activity_id": ctx.identifier("activity_id"),
            "attendee_count": ctx.required_int("count"),
            "region": ctx.optional_text("region"),
        }
    )


# --- ambassadors ------------------------------------------------------------------------------


def _ambassador_enrolled(ctx: _Context) -> None:
    ambassador_id = ctx.identifier("ambassador_id")
    values = {
        "cooperative_id": ctx.optional_text("cooperative_id"),
        "enrolled_on": ctx.required_date("enrolled_on"),
    }
    existing = ctx.batch.ambassadors.get(ambassador_id)
    if existing is None:
        ctx.batch.ambassadors.add(
            {"ambassador_id": ambassador_id, "ended_on": None, "end_reason": None, **values}
        )
    else:  # known from an earlier end or action: keep its end
        ctx.batch.ambassadors.update(existing, values)


def _end_ambassador(ctx: _Context, date_field: str, reason: str) -> None:
    ambassador_id = ctx.identifier("ambassador_id")
    ended_on = ctx.required_date(date_field)
    existing = ctx.batch.ambassadors.get(ambassador_id)
    if existing is None:
        ctx.batch.ambassadors.add(
            {
                "ambassador_id": ambassador_id,
                "cooperative_id": None,
                "enrolled_on": None,
                "ended_on": ended_on,
                "end_reason": reason,
            }
        )
    elif existing["ended_on"] is None or ended_on < existing["ended_on"]:
        # An ambassador ends once; should two ends arrive, the earlier one holds.
        ctx.batch.ambassadors.update(existing, {"ended_on": ended_on, "end_reason": reason})


def _ambassador_retired(ctx: _Context) -> None:
    _end_ambassador(ctx, "retired_on", "retired")


def _ambassador_deactivated(ctx: _Context) -> None:
    _end_ambassador(ctx, "effective_on", "deactivated")


def _ambassador_action_logged(ctx: _Context) -> None:
    ctx.batch.actions.add(
        {
            "event_id": ctx.event_id(),
            "ambassador_id": ctx.identifier("ambassador_id"),
            "kind": ctx.optional_text("kind"),
            "performed_on": ctx.required_date("performed_on"),
            "activity_id": ctx.optional_text("activity_id"),
            "people_reached": ctx.optional_int("people_reached", default=0),
        }
    )


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
