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

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.reporting.facts import (
    FACT_TABLES,
    HISTORY_TABLES,
    UNVERSIONED_COLUMNS,
    VERSIONED_TABLES,
    activities,
    activity_partners,
    ambassador_actions,
    ambassadors,
    attendances,
    cooperatives,
    encode_previous,
    encode_versions,
    history,
    membership_periods,
    parse_recorded_at,
    partners,
    public_attendances,
    research_projects,
    retail_placements,
    sector_table_actions,
    sector_table_members,
    sector_tables,
    sectors,
    version_columns,
)
from shared.names import normalized_name

Envelope = Mapping[str, Any]
Data = Mapping[str, Any]
Row = dict[str, Any]

PROFILE_FIELDS = ("name", "region", "sector", "worker_members", "neq")
ACTIVITY_FIELDS = {  # an ActivityRevised change -> the activity's column
    "type": "type",
    "title": "title",
    "date": "activity_date",
    "region": "region",
    "format": "format",
}

# The rows an event touches, read before a batch is applied: event type -> the batch's row
# sets (attribute names), the column they are read by, and the data field holding its value
# (the envelope's aggregate_id when the field is absent).
_COOPERATIVE = (("cooperatives", "periods"), "cooperative_id", "cooperative_id")
_ACTIVITY = (("activities", "attendances"), "activity_id", "activity_id")
_AMBASSADOR = (("ambassadors",), "ambassador_id", "ambassador_id")
_TABLE = (("sector_tables", "table_members"), "table_id", "table_id")
_LOADS: dict[str, tuple[tuple[tuple[str, ...], str, str], ...]] = {
    **dict.fromkeys(
        (
            "CoopJoined",
            "CoopProfileUpdated",
            "CoopLeft",
            "CoopRejoined",
            "CoopMembershipCorrected",
            "CoopVoided",
            "CoopRestored",
        ),
        (_COOPERATIVE,),
    ),
    "SectorDefined": ((("sectors",), "slug", "slug"),),
    **dict.fromkeys(
        (
            "ActivityScheduled",
            "ActivityCancelled",
            "ActivityAttended",
            "ActivityRevised",
            "ActivityReinstated",
            "AttendanceCorrected",
            "AttendanceWithdrawn",
        ),
        (_ACTIVITY,),
    ),
    **dict.fromkeys(
        ("PublicAttendanceCorrected", "PublicAttendanceWithdrawn"),
        ((("public_attendances",), "record_id", "record_id"),),
    ),
    **dict.fromkeys(
        (
            "AmbassadorEnrolled",
            "AmbassadorRetired",
            "AmbassadorDeactivated",
            "AmbassadorEnrollmentCorrected",
            "AmbassadorReactivated",
        ),
        (_AMBASSADOR,),
    ),
    **dict.fromkeys(
        ("AmbassadorActionCorrected", "AmbassadorActionWithdrawn"),
        ((("actions",), "action_id", "action_id"),),
    ),
    **dict.fromkeys(
        ("PartnerRegistered", "PartnerUpdated", "PartnerDeactivated", "PartnerReactivated"),
        ((("partners",), "partner_id", "partner_id"),),
    ),
    **dict.fromkeys(
        ("ResearchProjectStarted", "ResearchProjectUpdated", "ResearchProjectCompleted"),
        ((("research_projects",), "project_id", "project_id"),),
    ),
    **dict.fromkeys(
        (
            "SectorTableFormed",
            "SectorTableRenamed",
            "SectorTableMemberAdded",
            "SectorTableMemberRemoved",
            "SectorTableDissolved",
        ),
        (_TABLE,),
    ),
    "SectorTableActionWithdrawn": ((("table_actions",), "action_id", "action_id"),),
    "RetailPlacementEnded": ((("placements",), "placement_id", "placement_id"),),
}


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
    """Delete every fact of ``generation``, and its history (e.g. a replaced rebuild)."""
    for table in (*FACT_TABLES, *HISTORY_TABLES):
        conn.execute(sa.delete(table).where(table.c.generation == generation))


Version = tuple[str, list[Any]]  # recorded_at, the row's values in version_columns order


class _Rows:
    """The rows of one fact table that a batch reads or writes, by key (generation aside).

    ``group`` names the column by which rows are also listed (a cooperative's periods, an
    activity's attendances). The rows each event changes are also kept, as versions stamped
    with the instant the event was recorded, in ``versions`` (shared by the batch's tables).
    """

    def __init__(
        self, table: sa.Table, touched_tables: dict[_Rows, None], group: str | None = None
    ) -> None:
        self.table = table
        self.versioned = table in VERSIONED_TABLES
        self.unversioned = UNVERSIONED_COLUMNS.get(table.name, frozenset())
        self.version_columns = version_columns(table)
        self.versions: list[Version] = []
        # The values of the rows read from the database, as they were before the batch, and
        # the keys versioned so far in the batch: the history's ``previous``.
        self.loaded: dict[Any, list[Any]] = {}
        self.versioned_keys: set[Any] = set()
        self.previous: list[tuple[int, list[Any]]] = []
        self.touched_tables = touched_tables
        self.key_columns = [c.name for c in table.primary_key.columns if c.name != "generation"]
        # A row's key: its one key column's value, or the tuple of its key columns' values.
        self.key: Callable[[Row], Any] = operator.itemgetter(*self.key_columns)
        self.group = group
        self.rows: dict[Any, Row] = {}
        self.groups: dict[Any, list[Row]] = {}
        self.changed: dict[Any, None] = {}  # keys, in the order they first changed
        self.touched: dict[Any, None] = {}  # keys of versioned changes by the event being applied

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
                key = self.key(row)
                if key not in self.rows:
                    self._keep(row)
                    if self.versioned:
                        self.loaded[key] = [row[c] for c in self.version_columns]

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
        key = self.key(row)
        self.changed[key] = None
        self.touched[key] = None
        self.touched_tables[self] = None
        return row

    def update(self, row: Row, values: Mapping[str, Any]) -> None:
        """Change a row's columns; it is written only when a value differs."""
        changed = versioned = False
        for column, value in values.items():
            if row[column] != value:
                row[column] = value
                changed = True
                versioned = versioned or column not in self.unversioned
        if changed:
            key = self.key(row)
            self.changed[key] = None
            if versioned:
                self.touched[key] = None
                self.touched_tables[self] = None

    def record(self, recorded_at: str) -> None:
        """Keep the rows the event changed as versions recorded at ``recorded_at``."""
        if self.versioned:
            columns, rows, versions = self.version_columns, self.rows, self.versions
            seen, loaded = self.versioned_keys, self.loaded
            # In key order: how the rows were read (a batch's or the database's order) does
            # not change the history.
            touched = sorted(self.touched) if len(self.touched) > 1 else self.touched
            for key in touched:
                if key not in seen:
                    seen.add(key)
                    before = loaded.get(key)
                    if before is not None:
                        self.previous.append((len(versions), before))
                row = rows[key]
                versions.append((recorded_at, [row[c] for c in columns]))
        self.touched.clear()

    def flush(self, conn: sa.Connection, generation: int) -> None:
        """Write every row that changed, and append the batch's versions to the history."""
        if self.changed:
            rows = [{"generation": generation, **self.rows[key]} for key in self.changed]
            conn.execute(_upsert(conn.dialect.name, self.table), rows)
            self.changed.clear()
        if self.versions:
            conn.execute(
                sa.insert(history).values(
                    generation=generation,
                    table_name=self.table.name,
                    recorded_from=min(recorded_at for recorded_at, _ in self.versions),
                    recorded_to=max(recorded_at for recorded_at, _ in self.versions),
                    versions=encode_versions(self.versions),
                    previous=encode_previous(self.previous),
                )
            )
            self.versions.clear()
            self.previous.clear()
            self.versioned_keys.clear()


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
        self.touched: dict[_Rows, None] = {}  # the tables the event being applied changed
        touched = self.touched
        self.cooperatives = _Rows(cooperatives, touched)
        self.periods = _Rows(membership_periods, touched, group="cooperative_id")
        self.activities = _Rows(activities, touched)
        self.attendances = _Rows(attendances, touched, group="activity_id")
        self.ambassadors = _Rows(ambassadors, touched)
        self.public_attendances = _Rows(public_attendances, touched)
        self.actions = _Rows(ambassador_actions, touched)
        self.sectors = _Rows(sectors, touched)
        self.partners = _Rows(partners, touched)
        self.research_projects = _Rows(research_projects, touched)
        self.sector_tables = _Rows(sector_tables, touched)
        self.table_members = _Rows(sector_table_members, touched, group="table_id")
        self.table_actions = _Rows(sector_table_actions, touched)
        self.placements = _Rows(retail_placements, touched)
        self.activity_partners: dict[str, dict[str, str]] = {}  # an activity's, replaced
        self._load(envelopes)

    def _all_rows(self) -> tuple[_Rows, ...]:
        return (
            self.cooperatives,
            self.periods,
            self.activities,
            self.attendances,
            self.public_attendances,
            self.ambassadors,
            self.actions,
            self.sectors,
            self.partners,
            self.research_projects,
            self.sector_tables,
            self.table_members,
            self.table_actions,
            self.placements,
        )

    def _load(self, envelopes: Sequence[Envelope]) -> None:
        wanted: dict[tuple[str, str], set[str]] = {}
        for envelope in envelopes:
            event_type = envelope.get("event_type") if isinstance(envelope, Mapping) else None
            loads = _LOADS.get(event_type) if isinstance(event_type, str) else None
            data = envelope.get("data") if loads else None
            if not loads or not isinstance(data, Mapping):
                continue
            for names, column, field in loads:
                value = data.get(field)
                if value is None and field != "slug":
                    value = envelope.get("aggregate_id")
                if isinstance(value, str):
                    for name in names:
                        wanted.setdefault((name, column), set()).add(value)
        for (name, column), values in wanted.items():
            rows: _Rows = getattr(self, name)
            rows.load(self.conn, self.generation, column, values)

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
        occurred_at = envelope.get("occurred_at")
        try:
            recorded_at = parse_recorded_at(str(occurred_at))
        except ValueError:
            raise ProjectionError(
                f"{event_type}: occurred_at is not an RFC 3339 timestamp: {occurred_at!r}"
            ) from None
        try:
            handler(_Context(self, envelope, data))
        finally:
            for rows in self.touched:
                rows.record(recorded_at)
            self.touched.clear()

    def flush(self) -> None:
        """Write every row the batch changed, and its history."""
        conn, generation = self.conn, self.generation
        for table_rows in self._all_rows():
            table_rows.flush(conn, generation)
        if self.activity_partners:
            table = activity_partners
            for chunk in _chunks(sorted(self.activity_partners)):
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
                for activity_id, names in self.activity_partners.items()
                for key, name in names.items()
            ]
            if partner_rows:
                conn.execute(sa.insert(table), partner_rows)
            self.activity_partners.clear()


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

    def changes(self) -> Data:
        """The ``changes`` object of an update event."""
        changes = self.data.get("changes", {})
        if not isinstance(changes, Mapping):
            raise self.fail("changes is not an object")
        return changes

    def optional_text_list(self, field: str, data: Data | None = None) -> list[str]:
        """A list of strings (absent or null: empty)."""
        value = (self.data if data is None else data).get(field)
        if value is None:
            return []
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{field} is not a list of strings: {value!r}")
        return list(value)

    def record_id(self, field: str) -> str:
        """A sub-record's id: the data's, else (a version-1 event) the envelope's event_id."""
        value = self.data.get(field)
        if value is None:
            return self.event_id()
        if not isinstance(value, str) or not value:
            raise self.fail(f"{field} is not an id: {value!r}")
        return value

    def date_in(self, data: Data, field: str) -> date | None:
        value = data.get(field)
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


def _new_cooperative(cooperative_id: str) -> Row:
    return {"cooperative_id": cooperative_id, **dict.fromkeys(PROFILE_FIELDS), "voided": False}


def _ensure_cooperative(ctx: _Context, cooperative_id: str) -> Row:
    row = ctx.batch.cooperatives.get(cooperative_id)
    if row is None:
        row = ctx.batch.cooperatives.add(_new_cooperative(cooperative_id))
    return row


def _add_period(ctx: _Context, cooperative_id: str, start: date | None, end: date | None) -> None:
    periods = ctx.batch.periods.group_of(cooperative_id)
    number = max((p["period_number"] for p in periods), default=0) + 1
    cooperative = ctx.batch.cooperatives.get(cooperative_id)
    ctx.batch.periods.add(
        {
            "cooperative_id": cooperative_id,
            "period_number": number,
            "start_on": start,
            "end_on": end,
            "voided": bool(cooperative and cooperative["voided"]),
        }
    )


def _live_periods(ctx: _Context, cooperative_id: str) -> list[Row]:
    """The cooperative's periods a correction did not remove."""
    return [
        p
        for p in ctx.batch.periods.group_of(cooperative_id)
        if p["start_on"] is not None or p["end_on"] is not None
    ]


def _open_period(ctx: _Context, cooperative_id: str, start: date) -> None:
    """Open a period on ``start`` unless one already starts that day."""
    if all(p["start_on"] != start for p in _live_periods(ctx, cooperative_id)):
        _add_period(ctx, cooperative_id, start, None)


def _coop_joined(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    joined_on = ctx.required_date("joined_on")
    profile = _profile_values(ctx, ctx.data)
    existing = ctx.batch.cooperatives.get(cooperative_id)
    if existing is None:
        ctx.batch.cooperatives.add({**_new_cooperative(cooperative_id), **profile})
    else:
        # The row came from events applied earlier; keep what they set, fill in the rest.
        missing = {k: v for k, v in profile.items() if existing[k] is None}
        ctx.batch.cooperatives.update(existing, missing)
    _open_period(ctx, cooperative_id, joined_on)


def _coop_profile_updated(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    changes = ctx.changes()
    row = _ensure_cooperative(ctx, cooperative_id)
    ctx.batch.cooperatives.update(row, _profile_values(ctx, changes))


def _coop_left(ctx: _Context) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    left_on = ctx.required_date("left_on")
    _ensure_cooperative(ctx, cooperative_id)
    periods = _live_periods(ctx, cooperative_id)
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


def _coop_membership_corrected(ctx: _Context) -> None:
    """The whole period list replaced: periods 1..n take the corrected dates, the rest none."""
    cooperative_id = ctx.identifier("cooperative_id")
    listed = ctx.data.get("periods")
    if not isinstance(listed, list | tuple):
        raise ctx.fail("periods is not a list")
    corrected: list[tuple[date | None, date | None]] = []
    for period in listed:
        if not isinstance(period, Mapping):
            raise ctx.fail(f"a period is not an object: {period!r}")
        corrected.append((ctx.date_in(period, "start"), ctx.date_in(period, "end")))
    _ensure_cooperative(ctx, cooperative_id)
    existing = sorted(ctx.batch.periods.group_of(cooperative_id), key=lambda p: p["period_number"])
    for number, row in enumerate(existing):
        start, end = corrected[number] if number < len(corrected) else (None, None)
        ctx.batch.periods.update(row, {"start_on": start, "end_on": end})
    for start, end in corrected[len(existing) :]:
        _add_period(ctx, cooperative_id, start, end)


def _set_voided(ctx: _Context, voided: bool) -> None:
    cooperative_id = ctx.identifier("cooperative_id")
    ctx.batch.cooperatives.update(_ensure_cooperative(ctx, cooperative_id), {"voided": voided})
    for period in ctx.batch.periods.group_of(cooperative_id):
        ctx.batch.periods.update(period, {"voided": voided})


def _coop_voided(ctx: _Context) -> None:
    _set_voided(ctx, True)


def _coop_restored(ctx: _Context) -> None:
    _set_voided(ctx, False)


def _sector_defined(ctx: _Context) -> None:
    slug = ctx.optional_text("slug")
    if not slug:
        raise ctx.fail("slug is missing")
    label = ctx.data.get("label") or {}
    if not isinstance(label, Mapping):
        raise ctx.fail("label is not an object")
    values = {
        "label_fr": ctx.optional_text("fr", label),
        "label_en": ctx.optional_text("en", label),
    }
    existing = ctx.batch.sectors.get(slug)
    if existing is None:
        ctx.batch.sectors.add({"slug": slug, **values})
    else:
        ctx.batch.sectors.update(existing, values)


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
                "partners": None,
            }
        )
    return row


def _partner_list(ctx: _Context, source: Data) -> list[str]:
    partners = source.get("partners") or []
    if not isinstance(partners, list | tuple):
        raise ctx.fail("partners is not a list")
    for partner in partners:
        if not isinstance(partner, str):
            raise ctx.fail(f"a partner is not a string: {partner!r}")
    return list(partners)


def partner_keys(names: Iterable[str]) -> dict[str, str]:
    """Partners keyed by their normalized name (§16.7), the first spelling kept."""
    keyed: dict[str, str] = {}
    for name in names:
        key = normalized_name(name)
        if key and key not in keyed:
            keyed[key] = name.strip()
    return keyed


def _set_partners(ctx: _Context, activity: Row, names: list[str]) -> None:
    ctx.batch.activities.update(activity, {"partners": names})
    ctx.batch.activity_partners[activity["activity_id"]] = partner_keys(names)


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
    # An earlier cancellation or attendance keeps its effect.
    activity = _ensure_activity(ctx, activity_id)
    ctx.batch.activities.update(activity, values)
    _set_partners(ctx, activity, _partner_list(ctx, ctx.data))
    # Attendance recorded before the activity was known takes the activity's type and date.
    _update_attendances(
        ctx,
        activity_id,
        {"activity_type": values["type"], "activity_date": values["activity_date"]},
    )


def _activity_revised(ctx: _Context) -> None:
    activity_id = ctx.identifier("activity_id")
    changes = ctx.changes()
    values: dict[str, Any] = {}
    for field, column in ACTIVITY_FIELDS.items():
        if field in changes:
            values[column] = (
                ctx.date_in(changes, field)
                if field == "date"
                else ctx.optional_text(field, changes)
            )
    activity = _ensure_activity(ctx, activity_id)
    ctx.batch.activities.update(activity, values)
    if "partners" in changes:
        _set_partners(ctx, activity, _partner_list(ctx, changes))
    # Attendance stays with its activity, and counts on its new type and date.
    _update_attendances(
        ctx,
        activity_id,
        {"activity_type": activity["type"], "activity_date": activity["activity_date"]},
    )


def _set_cancelled(ctx: _Context, cancelled: bool) -> None:
    activity_id = ctx.identifier("activity_id")
    ctx.batch.activities.update(_ensure_activity(ctx, activity_id), {"cancelled": cancelled})
    _update_attendances(ctx, activity_id, {"activity_cancelled": cancelled})


def _activity_cancelled(ctx: _Context) -> None:
    _set_cancelled(ctx, True)


def _activity_reinstated(ctx: _Context) -> None:
    _set_cancelled(ctx, False)


def _attendance_cooperative(ctx: _Context) -> str:
    cooperative_id = ctx.data.get("cooperative_id")
    if not isinstance(cooperative_id, str) or not cooperative_id:
        raise ctx.fail("cooperative_id is missing")
    return cooperative_id


def _count_attendance(ctx: _Context, activity: Row, records: int, participants: int) -> None:
    ctx.batch.activities.update(
        activity,
        {
            "member_attendances": activity["member_attendances"] + records,
            "participants": activity["participants"] + participants,
        },
    )


def _activity_attended(ctx: _Context) -> None:
    activity_id = ctx.identifier("activity_id")
    cooperative_id = _attendance_cooperative(ctx)
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
        _update_attendances(
            ctx,
            activity_id,
            {"activity_type": activity["type"], "activity_date": activity["activity_date"]},
        )
    values = {
        "participants": participants,
        "activity_type": activity["type"],
        "activity_date": activity["activity_date"],
        "activity_cancelled": bool(activity["cancelled"]),
        "withdrawn": False,
    }
    previous = ctx.batch.attendances.get((activity_id, cooperative_id))
    if previous is None:
        ctx.batch.attendances.add(
            {"activity_id": activity_id, "cooperative_id": cooperative_id, **values}
        )
        _count_attendance(ctx, activity, 1, participants)
    elif previous["withdrawn"]:  # recorded again after a withdrawal
        ctx.batch.attendances.update(previous, values)
        _count_attendance(ctx, activity, 1, participants)
    else:  # the same cooperative again: its record is replaced, not added
        replaced = previous["participants"]
        ctx.batch.attendances.update(previous, values)
        _count_attendance(ctx, activity, 0, participants - replaced)


def _attendance_corrected(ctx: _Context) -> None:
    activity_id = ctx.identifier("activity_id")
    record = ctx.batch.attendances.get((activity_id, _attendance_cooperative(ctx)))
    if record is None or record["withdrawn"]:
        return  # nothing known to correct
    participants = ctx.required_int("participants")
    activity = _ensure_activity(ctx, activity_id)
    _count_attendance(ctx, activity, 0, participants - record["participants"])
    ctx.batch.attendances.update(record, {"participants": participants})


def _attendance_withdrawn(ctx: _Context) -> None:
    activity_id = ctx.identifier("activity_id")
    record = ctx.batch.attendances.get((activity_id, _attendance_cooperative(ctx)))
    if record is None or record["withdrawn"]:
        return
    activity = _ensure_activity(ctx, activity_id)
    _count_attendance(ctx, activity, -1, -record["participants"])
    ctx.batch.attendances.update(record, {"withdrawn": True})


def _public_attendance_recorded(ctx: _Context) -> None:
    record_id = ctx.record_id("record_id")
    values = {
        "activity_id": ctx.identifier("activity_id"),
        "attendee_count": ctx.required_int("count"),
        "region": ctx.optional_text("region"),
        "withdrawn": False,
    }
    existing = ctx.batch.public_attendances.get(record_id)
    if existing is None:
        ctx.batch.public_attendances.add({"record_id": record_id, **values})
    else:
        ctx.batch.public_attendances.update(existing, values)


def _public_attendance_corrected(ctx: _Context) -> None:
    record = ctx.batch.public_attendances.get(ctx.record_id("record_id"))
    if record is None:
        return
    values: dict[str, Any] = {}
    if ctx.data.get("count") is not None:
        values["attendee_count"] = ctx.required_int("count")
    if "region" in ctx.data:
        values["region"] = ctx.optional_text("region")
    ctx.batch.public_attendances.update(record, values)


def _public_attendance_withdrawn(ctx: _Context) -> None:
    record = ctx.batch.public_attendances.get(ctx.record_id("record_id"))
    if record is not None:
        ctx.batch.public_attendances.update(record, {"withdrawn": True})


# --- ambassadors ------------------------------------------------------------------------------


def _ensure_ambassador(ctx: _Context, ambassador_id: str) -> Row:
    row = ctx.batch.ambassadors.get(ambassador_id)
    if row is None:
        row = ctx.batch.ambassadors.add(
            {
                "ambassador_id": ambassador_id,
                "cooperative_id": None,
                "enrolled_on": None,
                "ended_on": None,
                "end_reason": None,
            }
        )
    return row


def _ambassador_enrolled(ctx: _Context) -> None:
    ambassador_id = ctx.identifier("ambassador_id")
    values = {
        "cooperative_id": ctx.optional_text("cooperative_id"),
        "enrolled_on": ctx.required_date("enrolled_on"),
    }
    # Known from an earlier end or action: keep its end.
    ctx.batch.ambassadors.update(_ensure_ambassador(ctx, ambassador_id), values)


def _end_ambassador(ctx: _Context, date_field: str, reason: str) -> None:
    ambassador_id = ctx.identifier("ambassador_id")
    ended_on = ctx.required_date(date_field)
    # The latest end holds: a deactivation moved by a membership correction (§10) is another
    # AmbassadorDeactivated with its new effective_on.
    ctx.batch.ambassadors.update(
        _ensure_ambassador(ctx, ambassador_id), {"ended_on": ended_on, "end_reason": reason}
    )


def _ambassador_retired(ctx: _Context) -> None:
    _end_ambassador(ctx, "retired_on", "retired")


def _ambassador_deactivated(ctx: _Context) -> None:
    _end_ambassador(ctx, "effective_on", "deactivated")


def _ambassador_reactivated(ctx: _Context) -> None:
    row = _ensure_ambassador(ctx, ctx.identifier("ambassador_id"))
    ctx.batch.ambassadors.update(row, {"ended_on": None, "end_reason": None})


def _ambassador_enrollment_corrected(ctx: _Context) -> None:
    row = _ensure_ambassador(ctx, ctx.identifier("ambassador_id"))
    ctx.batch.ambassadors.update(row, {"enrolled_on": ctx.required_date("enrolled_on")})


def _action_values(ctx: _Context) -> dict[str, Any]:
    return {
        "ambassador_id": ctx.identifier("ambassador_id"),
        "kind": ctx.optional_text("kind"),
        "performed_on": ctx.required_date("performed_on"),
        "activity_id": ctx.optional_text("activity_id"),
        "people_reached": ctx.optional_int("people_reached", default=0),
    }


def _ambassador_action_logged(ctx: _Context) -> None:
    action_id = ctx.record_id("action_id")
    values = {**_action_values(ctx), "withdrawn": False}
    existing = ctx.batch.actions.get(action_id)
    if existing is None:
        ctx.batch.actions.add({"action_id": action_id, **values})
    else:
        ctx.batch.actions.update(existing, values)


def _ambassador_action_corrected(ctx: _Context) -> None:
    action_id = ctx.record_id("action_id")
    values = _action_values(ctx)
    existing = ctx.batch.actions.get(action_id)
    if existing is None:  # a correction of an action never seen: what it now is
        ctx.batch.actions.add({"action_id": action_id, **values, "withdrawn": False})
    else:
        ctx.batch.actions.update(existing, values)


def _ambassador_action_withdrawn(ctx: _Context) -> None:
    existing = ctx.batch.actions.get(ctx.record_id("action_id"))
    if existing is not None:
        ctx.batch.actions.update(existing, {"withdrawn": True})


# --- partnerships -----------------------------------------------------------------------------


def _partner_values(ctx: _Context, source: Data) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in ("name", "kind", "region", "website"):
        if field in source:
            values[field] = ctx.optional_text(field, source)
    if "aliases" in source:
        values["aliases"] = ctx.optional_text_list("aliases", source)
    return values


def _ensure_partner(ctx: _Context, partner_id: str) -> Row:
    row = ctx.batch.partners.get(partner_id)
    if row is None:
        row = ctx.batch.partners.add(
            {
                "partner_id": partner_id,
                "name": None,
                "kind": None,
                "region": None,
                "aliases": [],
                "website": None,
                "active": True,
            }
        )
    return row


def _partner_registered(ctx: _Context) -> None:
    row = _ensure_partner(ctx, ctx.identifier("partner_id"))
    ctx.batch.partners.update(row, _partner_values(ctx, ctx.data))


def _partner_updated(ctx: _Context) -> None:
    row = _ensure_partner(ctx, ctx.identifier("partner_id"))
    ctx.batch.partners.update(row, _partner_values(ctx, ctx.changes()))


def _partner_deactivated(ctx: _Context) -> None:
    row = _ensure_partner(ctx, ctx.identifier("partner_id"))
    ctx.batch.partners.update(row, {"active": False})


def _partner_reactivated(ctx: _Context) -> None:
    row = _ensure_partner(ctx, ctx.identifier("partner_id"))
    ctx.batch.partners.update(row, {"active": True})


def _project_values(ctx: _Context, source: Data) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in ("title", "theme"):
        if field in source:
            values[field] = ctx.optional_text(field, source)
    if "partner_ids" in source:
        values["partner_ids"] = ctx.optional_text_list("partner_ids", source)
    if "started_on" in source:
        values["started_on"] = ctx.date_in(source, "started_on")
    return values


def _ensure_project(ctx: _Context, project_id: str) -> Row:
    row = ctx.batch.research_projects.get(project_id)
    if row is None:
        row = ctx.batch.research_projects.add(
            {
                "project_id": project_id,
                "title": None,
                "theme": None,
                "partner_ids": [],
                "started_on": None,
                "ended_on": None,
            }
        )
    return row


def _research_project_started(ctx: _Context) -> None:
    row = _ensure_project(ctx, ctx.identifier("project_id"))
    ctx.batch.research_projects.update(row, _project_values(ctx, ctx.data))


def _research_project_updated(ctx: _Context) -> None:
    row = _ensure_project(ctx, ctx.identifier("project_id"))
    ctx.batch.research_projects.update(row, _project_values(ctx, ctx.changes()))


def _research_project_completed(ctx: _Context) -> None:
    row = _ensure_project(ctx, ctx.identifier("project_id"))
    ctx.batch.research_projects.update(row, {"ended_on": ctx.required_date("ended_on")})


def _ensure_table(ctx: _Context, table_id: str) -> Row:
    row = ctx.batch.sector_tables.get(table_id)
    if row is None:
        row = ctx.batch.sector_tables.add(
            {
                "table_id": table_id,
                "name": None,
                "sector": None,
                "formed_on": None,
                "dissolved_on": None,
            }
        )
    return row


def _sector_table_formed(ctx: _Context) -> None:
    row = _ensure_table(ctx, ctx.identifier("table_id"))
    values = {
        "name": ctx.optional_text("name"),
        "sector": ctx.optional_text("sector"),
        "formed_on": ctx.required_date("formed_on"),
    }
    ctx.batch.sector_tables.update(row, values)


def _sector_table_renamed(ctx: _Context) -> None:
    row = _ensure_table(ctx, ctx.identifier("table_id"))
    ctx.batch.sector_tables.update(row, {"name": ctx.optional_text("name")})


def _sector_table_dissolved(ctx: _Context) -> None:
    row = _ensure_table(ctx, ctx.identifier("table_id"))
    ctx.batch.sector_tables.update(row, {"dissolved_on": ctx.required_date("dissolved_on")})


def _member_cooperative(ctx: _Context) -> str:
    cooperative_id = ctx.optional_text("cooperative_id")
    if not cooperative_id:
        raise ctx.fail("cooperative_id is missing")
    return cooperative_id


def _sector_table_member_added(ctx: _Context) -> None:
    table_id = ctx.identifier("table_id")
    cooperative_id = _member_cooperative(ctx)
    joined_on = ctx.required_date("joined_on")
    spans = [
        m
        for m in ctx.batch.table_members.group_of(table_id)
        if m["cooperative_id"] == cooperative_id
    ]
    if any(m["left_on"] is None for m in spans):
        return  # already a member
    same_day = [m for m in spans if m["joined_on"] == joined_on]
    if same_day:
        ctx.batch.table_members.update(same_day[0], {"left_on": None})
    else:
        ctx.batch.table_members.add(
            {
                "table_id": table_id,
                "cooperative_id": cooperative_id,
                "joined_on": joined_on,
                "left_on": None,
            }
        )


def _sector_table_member_removed(ctx: _Context) -> None:
    table_id = ctx.identifier("table_id")
    cooperative_id = _member_cooperative(ctx)
    left_on = ctx.required_date("left_on")
    for member in ctx.batch.table_members.group_of(table_id):
        if member["cooperative_id"] == cooperative_id and member["left_on"] is None:
            ctx.batch.table_members.update(member, {"left_on": left_on})


def _sector_table_action_logged(ctx: _Context) -> None:
    action_id = ctx.optional_text("action_id") or ctx.event_id()
    values = {
        "table_id": ctx.identifier("table_id"),
        "kind": ctx.optional_text("kind"),
        "title": ctx.optional_text("title"),
        "performed_on": ctx.required_date("performed_on"),
        "partner_ids": ctx.optional_text_list("partner_ids"),
        "withdrawn": False,
    }
    existing = ctx.batch.table_actions.get(action_id)
    if existing is None:
        ctx.batch.table_actions.add({"action_id": action_id, **values})
    else:
        ctx.batch.table_actions.update(existing, values)


def _sector_table_action_withdrawn(ctx: _Context) -> None:
    action_id = ctx.optional_text("action_id")
    existing = ctx.batch.table_actions.get(action_id) if action_id else None
    if existing is not None:
        ctx.batch.table_actions.update(existing, {"withdrawn": True})


def _retail_placement_secured(ctx: _Context) -> None:
    placement_id = ctx.optional_text("placement_id") or ctx.event_id()
    values = {
        "table_id": ctx.identifier("table_id"),
        "retailer_id": ctx.optional_text("retailer_id"),
        "started_on": ctx.required_date("started_on"),
    }
    existing = ctx.batch.placements.get(placement_id)
    if existing is None:
        ctx.batch.placements.add({"placement_id": placement_id, **values, "ended_on": None})
    else:
        ctx.batch.placements.update(existing, values)


def _retail_placement_ended(ctx: _Context) -> None:
    placement_id = ctx.optional_text("placement_id")
    existing = ctx.batch.placements.get(placement_id) if placement_id else None
    if existing is not None:
        ctx.batch.placements.update(existing, {"ended_on": ctx.required_date("ended_on")})


_HANDLERS: dict[str, Callable[[_Context], None]] = {
    "CoopJoined": _coop_joined,
    "CoopProfileUpdated": _coop_profile_updated,
    "CoopLeft": _coop_left,
    "CoopRejoined": _coop_rejoined,
    "CoopMembershipCorrected": _coop_membership_corrected,
    "CoopVoided": _coop_voided,
    "CoopRestored": _coop_restored,
    "SectorDefined": _sector_defined,
    "ActivityScheduled": _activity_scheduled,
    "ActivityRevised": _activity_revised,
    "ActivityCancelled": _activity_cancelled,
    "ActivityReinstated": _activity_reinstated,
    "ActivityAttended": _activity_attended,
    "AttendanceCorrected": _attendance_corrected,
    "AttendanceWithdrawn": _attendance_withdrawn,
    "PublicAttendanceRecorded": _public_attendance_recorded,
    "PublicAttendanceCorrected": _public_attendance_corrected,
    "PublicAttendanceWithdrawn": _public_attendance_withdrawn,
    "AmbassadorEnrolled": _ambassador_enrolled,
    "AmbassadorActionLogged": _ambassador_action_logged,
    "AmbassadorActionCorrected": _ambassador_action_corrected,
    "AmbassadorActionWithdrawn": _ambassador_action_withdrawn,
    "AmbassadorEnrollmentCorrected": _ambassador_enrollment_corrected,
    "AmbassadorRetired": _ambassador_retired,
    "AmbassadorDeactivated": _ambassador_deactivated,
    "AmbassadorReactivated": _ambassador_reactivated,
    "PartnerRegistered": _partner_registered,
    "PartnerUpdated": _partner_updated,
    "PartnerDeactivated": _partner_deactivated,
    "PartnerReactivated": _partner_reactivated,
    "ResearchProjectStarted": _research_project_started,
    "ResearchProjectUpdated": _research_project_updated,
    "ResearchProjectCompleted": _research_project_completed,
    "SectorTableFormed": _sector_table_formed,
    "SectorTableRenamed": _sector_table_renamed,
    "SectorTableMemberAdded": _sector_table_member_added,
    "SectorTableMemberRemoved": _sector_table_member_removed,
    "SectorTableActionLogged": _sector_table_action_logged,
    "SectorTableActionWithdrawn": _sector_table_action_withdrawn,
    "RetailPlacementSecured": _retail_placement_secured,
    "RetailPlacementEnded": _retail_placement_ended,
    "SectorTableDissolved": _sector_table_dissolved,
}

PROJECTED_EVENT_TYPES: frozenset[str] = frozenset(_HANDLERS)
