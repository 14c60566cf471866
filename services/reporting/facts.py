"""The reporting fact model: SQLAlchemy Core tables fed by the projection of integration events.

Every fact table carries a ``generation`` in its primary key: a rebuild projects the streams
into generation g+1 while g is still served, then switches ``reporting_state``'s active
generation. Dates are business dates; identifiers are the UUID strings of the events.

The fact tables hold each record's current state, as corrected (what the plain indicators
read); ``reporting_history`` holds every version of every row with the instant it was recorded
(what the indicators "as recorded" read, §11).
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import sqlalchemy as sa

from shared.consumer import consumed_versions
from shared.persistence import tracking_table

metadata = sa.MetaData()

STATE_ROW_ID = 1
INITIAL_GENERATION = 1


def _generation() -> sa.Column[int]:
    return sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False)


def _uuid(name: str, *, primary_key: bool = False, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.String(64), primary_key=primary_key, nullable=nullable)


reporting_state = sa.Table(
    "reporting_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("active_generation", sa.Integer, nullable=False),
)
"""One row (id 1): the generation the indicators and BI views read."""


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(none_as_null=True))


cooperatives = sa.Table(
    "reporting_cooperatives",
    metadata,
    _generation(),
    _uuid("cooperative_id", primary_key=True, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("neq", sa.String(32)),
    sa.Column("region", sa.String(8)),
    sa.Column("sector", sa.String(200)),
    sa.Column("worker_members", sa.Integer),
    sa.Column("voided", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_reporting_cooperatives_voided", "generation", "voided", "cooperative_id"),
)
"""A cooperative's current profile (the latest values, whatever the date); a voided
cooperative (a record made by mistake) counts in no indicator."""

membership_periods = sa.Table(
    "reporting_membership_periods",
    metadata,
    _generation(),
    _uuid("cooperative_id", primary_key=True, nullable=False),
    sa.Column("period_number", sa.Integer, primary_key=True, autoincrement=False),
    # start_on is null only for a departure whose admission the projection never saw, or (with
    # end_on null too) for a period a correction removed: such a period counts nowhere.
    sa.Column("start_on", sa.Date),
    sa.Column("end_on", sa.Date),
    # The cooperative's voided flag, copied so that the periods are read without a join.
    sa.Column("voided", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_reporting_membership_periods_start", "generation", "start_on", "voided"),
    sa.Index("ix_reporting_membership_periods_end", "generation", "end_on", "voided"),
    # The cooperatives active on a day, read in cooperative order without the table.
    sa.Index(
        "ix_reporting_membership_periods_cooperative",
        "generation",
        "cooperative_id",
        "start_on",
        "end_on",
        "voided",
    ),
)
"""Membership periods [start_on, end_on) as they stand after corrections: end_on is the first
day no longer a member."""

activities = sa.Table(
    "reporting_activities",
    metadata,
    _generation(),
    _uuid("activity_id", primary_key=True, nullable=False),
    sa.Column("type", sa.String(32)),
    sa.Column("title", sa.Text),
    sa.Column("activity_date", sa.Date),
    sa.Column("region", sa.String(8)),
    sa.Column("format", sa.String(16)),
    sa.Column("scheduled", sa.Boolean, nullable=False, default=False),
    sa.Column("cancelled", sa.Boolean, nullable=False, default=False),
    # Running totals of the activity's attendance records not withdrawn (kept by the
    # projection); a voided cooperative's records are taken off when the figures are read.
    sa.Column("member_attendances", sa.Integer, nullable=False, default=0),
    sa.Column("participants", sa.Integer, nullable=False, default=0),
    # The activity's partners as written (a list of names).
    _json("partners"),
    sa.Index(
        "ix_reporting_activities_date",
        "generation",
        "activity_date",
        "type",
        "cancelled",
        "scheduled",
        "member_attendances",
        "participants",
    ),
)
"""Activities. A row not yet ``scheduled`` stands for an activity known only from its
cancellation, attendance or public attendance (type and date taken from the attendance,
if any); it is counted as an activity once its ActivityScheduled arrives."""

activity_partners = sa.Table(
    "reporting_activity_partners",
    metadata,
    _generation(),
    _uuid("activity_id", primary_key=True, nullable=False),
    sa.Column("partner_key", sa.String(500), primary_key=True),
    sa.Column("partner", sa.Text, nullable=False),
)
"""An activity's partners (for BI tools); partner_key is the name normalized (§16.7)."""

attendances = sa.Table(
    "reporting_attendances",
    metadata,
    _generation(),
    _uuid("activity_id", primary_key=True, nullable=False),
    _uuid("cooperative_id", primary_key=True, nullable=False),
    sa.Column("participants", sa.Integer, nullable=False),
    sa.Column("activity_type", sa.String(32)),
    sa.Column("activity_date", sa.Date),
    sa.Column("activity_cancelled", sa.Boolean, nullable=False, default=False),
    sa.Column("withdrawn", sa.Boolean, nullable=False, default=False),
    # Participation: does an active cooperative have an attendance in [S, C] (of a type)?
    sa.Index(
        "ix_reporting_attendances_cooperative_date",
        "generation",
        "cooperative_id",
        "activity_date",
        "activity_cancelled",
        "withdrawn",
    ),
    sa.Index(
        "ix_reporting_attendances_cooperative_type",
        "generation",
        "cooperative_id",
        "activity_type",
        "activity_date",
        "activity_cancelled",
        "withdrawn",
    ),
)
"""Member attendance (cooperative x activity), with its activity's type, date and status.

The activity's fields are copied so that participation is read without a join; the
projection keeps them in step with the activity (revisions included). A withdrawn record
counts nowhere; the cooperative may be recorded again.
"""

public_attendances = sa.Table(
    "reporting_public_attendances",
    metadata,
    _generation(),
    _uuid("record_id", primary_key=True, nullable=False),
    _uuid("activity_id", nullable=False),
    sa.Column("attendee_count", sa.Integer, nullable=False),
    sa.Column("region", sa.String(8)),
    sa.Column("withdrawn", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_reporting_public_attendances_activity", "generation", "activity_id"),
)
"""Public attendance records by record_id (a version-1 record's id is the id of the event
that recorded it, §16.1)."""

ambassadors = sa.Table(
    "reporting_ambassadors",
    metadata,
    _generation(),
    _uuid("ambassador_id", primary_key=True, nullable=False),
    _uuid("cooperative_id"),
    sa.Column("enrolled_on", sa.Date),
    sa.Column("ended_on", sa.Date),
    sa.Column("end_reason", sa.String(16)),
    sa.Index(
        "ix_reporting_ambassadors_enrolled",
        "generation",
        "enrolled_on",
        "ended_on",
        "cooperative_id",
    ),
    sa.Index("ix_reporting_ambassadors_cooperative", "generation", "cooperative_id"),
)
"""Ambassador spans [enrolled_on, ended_on); end_reason is retired or deactivated."""

ambassador_actions = sa.Table(
    "reporting_ambassador_actions",
    metadata,
    _generation(),
    _uuid("action_id", primary_key=True, nullable=False),
    _uuid("ambassador_id", nullable=False),
    sa.Column("kind", sa.String(32)),
    sa.Column("performed_on", sa.Date, nullable=False),
    _uuid("activity_id"),
    sa.Column("people_reached", sa.Integer, nullable=False, default=0),
    sa.Column("withdrawn", sa.Boolean, nullable=False, default=False),
    sa.Index(
        "ix_reporting_ambassador_actions_performed",
        "generation",
        "performed_on",
        "withdrawn",
        "ambassador_id",
        "people_reached",
    ),
)
"""Ambassador actions by action_id (a version-1 action's id is the id of the event that
logged it, §16.1)."""

sectors = sa.Table(
    "reporting_sectors",
    metadata,
    _generation(),
    sa.Column("slug", sa.String(200), primary_key=True),
    sa.Column("label_fr", sa.Text),
    sa.Column("label_en", sa.Text),
)
"""The sector list (SectorDefined), with its labels."""

partners = sa.Table(
    "reporting_partners",
    metadata,
    _generation(),
    _uuid("partner_id", primary_key=True, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("kind", sa.String(32)),
    sa.Column("region", sa.String(8)),
    _json("aliases"),
    sa.Column("website", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
)
"""The partner directory: a name or alias, normalized (§16.7), names one partner."""

research_projects = sa.Table(
    "reporting_research_projects",
    metadata,
    _generation(),
    _uuid("project_id", primary_key=True, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("theme", sa.Text),
    _json("partner_ids"),
    sa.Column("started_on", sa.Date),
    sa.Column("ended_on", sa.Date),
)
"""Research projects, under way from started_on to ended_on (both included)."""

sector_tables = sa.Table(
    "reporting_sector_tables",
    metadata,
    _generation(),
    _uuid("table_id", primary_key=True, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("sector", sa.String(200)),
    sa.Column("formed_on", sa.Date),
    sa.Column("dissolved_on", sa.Date),
)
"""Sector tables, active from formed_on until the day before dissolved_on."""

sector_table_members = sa.Table(
    "reporting_sector_table_members",
    metadata,
    _generation(),
    _uuid("table_id", primary_key=True, nullable=False),
    _uuid("cooperative_id", primary_key=True, nullable=False),
    sa.Column("joined_on", sa.Date, primary_key=True),
    sa.Column("left_on", sa.Date),
)
"""A cooperative's spans at a sector table [joined_on, left_on)."""

sector_table_actions = sa.Table(
    "reporting_sector_table_actions",
    metadata,
    _generation(),
    _uuid("action_id", primary_key=True, nullable=False),
    _uuid("table_id", nullable=False),
    sa.Column("kind", sa.String(32)),
    sa.Column("title", sa.Text),
    sa.Column("performed_on", sa.Date),
    _json("partner_ids"),
    sa.Column("withdrawn", sa.Boolean, nullable=False, default=False),
)
"""What sector tables did together; a withdrawn action counts nowhere."""

retail_placements = sa.Table(
    "reporting_retail_placements",
    metadata,
    _generation(),
    _uuid("placement_id", primary_key=True, nullable=False),
    _uuid("table_id", nullable=False),
    _uuid("retailer_id"),
    sa.Column("started_on", sa.Date),
    sa.Column("ended_on", sa.Date),
)
"""Space reserved for a table's products at a retailer, open from started_on until the day
before ended_on."""

FACT_TABLES: tuple[sa.Table, ...] = (
    cooperatives,
    membership_periods,
    activities,
    activity_partners,
    attendances,
    public_attendances,
    ambassadors,
    ambassador_actions,
    sectors,
    partners,
    research_projects,
    sector_tables,
    sector_table_members,
    sector_table_actions,
    retail_placements,
)
"""The current state of every fact: what the plain indicators read."""

RECORDED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

history = sa.Table(
    "reporting_history",
    metadata,
    sa.Column(
        "history_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("table_name", sa.String(64), nullable=False),
    sa.Column("recorded_from", sa.String(32), nullable=False),
    sa.Column("recorded_to", sa.String(32), nullable=False),
    sa.Column("versions", sa.Text, nullable=False),
    sa.Column("previous", sa.Text),
    # A table's first row holding a version recorded after an instant (what changed since).
    sa.Index("ix_reporting_history_recorded_to", "generation", "table_name", "recorded_to"),
)
"""Every version of every fact row, in the order the projection made them.

A version is ``[recorded_at, values]``: the row's values (a JSON array in the table's column
order, generation left out, dates as ISO text) from ``recorded_at``, the UTC instant (RFC 3339
with microseconds, so that text order is time order) at which the event that gave the row
those values occurred (its envelope's ``occurred_at``). Corrections are versions like any
other, so a row as known at an instant T is its latest version recorded at or before T.

The versions one batch of the projection made for one table are kept together, in order, in
one row (``versions``, a JSON array; ``recorded_from`` and ``recorded_to`` are the earliest and
the latest ``recorded_at`` among them); rows follow one another in ``history_id`` order.
``previous`` holds, for each row of the table that the batch changed but did not create, the
values it had before the batch: ``[index, values]`` pairs, ``index`` being the position in
``versions`` of the row's first version in the batch (null when the batch created every row).
With it, the rows as known at an instant T are read from the current facts and the history
rows from the first one holding a version recorded after T (``changes_after``).

Kept for every fact table but activity_partners (the activities hold their partners); an
activity's running attendance totals are not versioned (they follow from its attendance). The
plain indicators never read the history.
"""

HISTORY_TABLES: tuple[sa.Table, ...] = (history,)
VERSIONED_TABLES: tuple[sa.Table, ...] = tuple(t for t in FACT_TABLES if t is not activity_partners)
UNVERSIONED_COLUMNS: dict[str, frozenset[str]] = {
    activities.name: frozenset({"member_attendances", "participants"})
}


def _columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [c for c in table.columns if c.name != "generation"]


def version_columns(table: sa.Table) -> list[str]:
    """The columns a version holds, in order: every column but the generation."""
    return [c.name for c in _columns(table)]


def _iso(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not kept in history: {value!r}")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_iso)


def encode_versions(versions: list[tuple[str, list[Any]]]) -> str:
    """A batch's versions of one table, ``[recorded_at, values]`` each, as history keeps them."""
    return _ENCODER.encode(versions)


def encode_previous(previous: list[tuple[int, list[Any]]]) -> str | None:
    """A batch's values before its changes, ``[index, values]`` each (None when empty)."""
    return _ENCODER.encode(previous) if previous else None


def key_positions(table: sa.Table) -> list[int]:
    """The positions of the table's key columns in its versions' values."""
    return [i for i, c in enumerate(_columns(table)) if c.primary_key]


def changes_after(
    conn: sa.Connection,
    generation: int,
    instant: str,
    only: tuple[sa.Table, ...] = VERSIONED_TABLES,
) -> dict[str, dict[Any, list[Any] | None]]:
    """Per versioned table (of ``only``), the rows whose state at ``instant`` may differ from
    the current facts: key -> the values as they stood at the instant, None when the row did
    not exist then. Every other row stood then as it stands now.

    Of each table's history, only the rows from its first one holding a version recorded after
    the instant are read (a table is fed by one stream, whose instants follow its order, while
    the streams are applied side by side): a row that none of them touches has its current
    values as latest version, recorded at or before the instant. A row they touch stood, before
    them, as its first touch's ``previous`` says (absent if that touch created it); then its
    versions recorded at or before the instant apply, in order, as in ``facts_as_recorded``.
    Keys are as ``version_key`` makes them (dates as ISO text).
    """
    h = history.c
    tables = {t.name: t for t in only if t in VERSIONED_TABLES}
    changed: dict[str, dict[Any, list[Any] | None]] = {name: {} for name in tables}
    for name, table in tables.items():
        first = conn.execute(
            sa.select(sa.func.min(h.history_id)).where(
                h.generation == generation, h.table_name == name, h.recorded_to > instant
            )
        ).scalar()
        if first is None:
            continue
        rows, key = changed[name], version_key(table)
        query = (
            sa.select(h.versions, h.previous)
            .where(h.generation == generation, h.table_name == name, h.history_id >= first)
            .order_by(h.history_id)
        )
        for versions, previous in conn.execute(query):
            before: dict[int, list[Any]] = dict(json.loads(previous)) if previous else {}
            for index, (recorded_at, values) in enumerate(json.loads(versions)):
                row_key = key(values)
                if row_key not in rows:
                    rows[row_key] = before.get(index)
                if recorded_at <= instant:
                    rows[row_key] = values
    return changed


def version_key(table: sa.Table) -> Callable[[Sequence[Any]], Any]:
    """A function of a row's values (version order) to its key as ``changes_after`` keys it:
    the one key value, or the tuple of them."""
    return operator.itemgetter(*key_positions(table))


def facts_as_recorded(
    conn: sa.Connection,
    generation: int,
    instant: str,
    only: tuple[sa.Table, ...] = VERSIONED_TABLES,
) -> dict[str, list[dict[str, Any]]]:
    """Per versioned table (of ``only``), its rows as they stood at ``instant`` (recorded_at
    text): each row's latest version recorded at or before the instant, generation included.
    """
    h = history.c
    tables = {t.name: t for t in only if t in VERSIONED_TABLES}
    keys = {
        name: [i for i, c in enumerate(_columns(t)) if c.primary_key] for name, t in tables.items()
    }
    latest: dict[str, dict[Any, list[Any]]] = {name: {} for name in tables}
    query = (
        sa.select(h.table_name, h.versions)
        .where(
            h.generation == generation,
            h.recorded_from <= instant,
            h.table_name.in_(sorted(tables)),
        )
        .order_by(h.history_id)
    )
    for table_name, versions in conn.execute(query):
        rows, key = latest.get(table_name), keys.get(table_name)
        if rows is None or key is None:
            continue
        for recorded_at, values in json.loads(versions):
            if recorded_at <= instant:
                rows[tuple(values[i] for i in key)] = values
    return {
        name: _decoded(tables[name], generation, list(rows.values()))
        for name, rows in latest.items()
    }


def sector_labels(
    conn: sa.Connection, generation: int, instant: str | None = None
) -> dict[str, dict[str, str | None]]:
    """The sector list, slug -> {fr, en} labels (as it stood at ``instant``, when given)."""
    if instant is None:
        r = sectors.c
        rows: list[dict[str, Any]] = [
            dict(row._mapping)
            for row in conn.execute(sa.select(sectors).where(r.generation == generation))
        ]
    else:
        rows = facts_as_recorded(conn, generation, instant, (sectors,))[sectors.name]
    return {
        row["slug"]: {"fr": row["label_fr"], "en": row["label_en"]}
        for row in sorted(rows, key=lambda row: str(row["slug"]))
    }


def _decoded(table: sa.Table, generation: int, versions: list[list[Any]]) -> list[dict[str, Any]]:
    """Versions' values as rows of the table (dates read back from their ISO text)."""
    names = ["generation", *version_columns(table)]
    dates = [i + 1 for i, c in enumerate(_columns(table)) if isinstance(c.type, sa.Date)]
    rows = []
    for values in versions:
        row = [generation, *values]
        for i in dates:
            if row[i] is not None:
                row[i] = date.fromisoformat(row[i])
        rows.append(dict(zip(names, row, strict=True)))
    return rows


def recorded_at_text(moment: datetime) -> str:
    """An instant as history's ``recorded_at`` text: UTC, microseconds (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(RECORDED_AT_FORMAT)


def parse_recorded_at(value: str) -> str:
    """An RFC 3339 timestamp (any offset) as history's ``recorded_at`` text (ValueError)."""
    if _CANONICAL.fullmatch(value):  # what the services publish: already UTC, microseconds
        return value
    return recorded_at_text(datetime.fromisoformat(value))


_CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


_VIEW_STATEMENT = re.compile(
    r"(CREATE|DROP)\s+VIEW\s+(?:IF\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE
)


def create_schema(conn: sa.Connection) -> bool:
    """Create the fact tables, the state row (generation 1 active) and the BI views.

    A model written by an earlier release whose fact tables lack a column of this one is
    dropped and made anew, and the reporting consumers' positions and freshness are forgotten,
    so that they replay the streams from the start (the model holds nothing else). True then.
    """
    outdated = _outdated(conn)
    if outdated:
        drop_bi_views(conn)
        metadata.drop_all(conn, tables=[*FACT_TABLES, *HISTORY_TABLES])
        _forget_positions(conn)
    metadata.create_all(conn)
    if active_generation_or_none(conn) is None:
        conn.execute(
            sa.insert(reporting_state).values(id=STATE_ROW_ID, active_generation=INITIAL_GENERATION)
        )
    create_bi_views(conn)
    return outdated


def _outdated(conn: sa.Connection) -> bool:
    """Whether an existing fact table lacks one of this release's columns."""
    inspector = sa.inspect(conn)
    for table in (*FACT_TABLES, *HISTORY_TABLES):
        if inspector.has_table(table.name):
            present = {column["name"] for column in inspector.get_columns(table.name)}
            if not {c.name for c in table.columns} <= present:
                return True
    return False


# The reporting consumers' tracking rows are named "<stream>:reporting-<service>-g<generation>".
_REPORTING_CONSUMERS = "%:reporting-%"


def _forget_positions(conn: sa.Connection) -> None:
    """Forget where the reporting consumers stand, and the streams' freshness."""
    inspector = sa.inspect(conn)
    for table, column in ((tracking_table, "name"), (consumed_versions, "consumer")):
        if inspector.has_table(table.name):
            conn.execute(sa.delete(table).where(table.c[column].like(_REPORTING_CONSUMERS)))
    if inspector.has_table("reporting_freshness"):
        conn.execute(sa.delete(sa.table("reporting_freshness")))


def active_generation_or_none(conn: sa.Connection) -> int | None:
    """The generation being served, or None before create_schema."""
    value = conn.execute(
        sa.select(reporting_state.c.active_generation).where(reporting_state.c.id == STATE_ROW_ID)
    ).scalar_one_or_none()
    return None if value is None else int(value)


def active_generation(conn: sa.Connection) -> int:
    """The generation being served."""
    value = active_generation_or_none(conn)
    return INITIAL_GENERATION if value is None else value


def set_active_generation(conn: sa.Connection, generation: int) -> None:
    """Switch the served generation (indicators and BI views) to ``generation``."""
    updated = conn.execute(
        sa.update(reporting_state)
        .where(reporting_state.c.id == STATE_ROW_ID)
        .values(active_generation=generation)
    ).rowcount
    if not updated:
        conn.execute(
            sa.insert(reporting_state).values(id=STATE_ROW_ID, active_generation=generation)
        )


def bi_view_statements() -> list[tuple[str, str, str]]:
    """The (verb CREATE or DROP, view name, statement) triples of views.sql, in file order."""
    source = resources.files(__package__ or "services.reporting").joinpath("views.sql")
    statements: list[tuple[str, str, str]] = []
    lines: list[str] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        lines.append(line.rstrip())
        if stripped.endswith(";"):
            statement = "\n".join(lines).rstrip().rstrip(";")
            lines = []
            match = _VIEW_STATEMENT.match(statement)
            if match is None:
                raise ValueError(
                    f"views.sql holds a statement that is not about a view: {statement}"
                )
            statements.append((match.group(1).upper(), match.group(2), statement))
    if lines:
        raise ValueError("views.sql ends with an unterminated statement")
    return statements


def bi_view_names() -> list[str]:
    """The names of the BI views, in creation order."""
    return [name for verb, name, _ in bi_view_statements() if verb == "CREATE"]


def drop_bi_views(conn: sa.Connection) -> None:
    """Drop every BI view of views.sql that exists."""
    for verb, _, statement in reversed(bi_view_statements()):
        if verb == "DROP":
            conn.exec_driver_sql(statement)


def create_bi_views(conn: sa.Connection) -> None:
    """Drop and create the BI views (views.sql) over the active generation."""
    drop_bi_views(conn)
    for verb, _, statement in bi_view_statements():
        if verb == "CREATE":
            conn.exec_driver_sql(statement)
