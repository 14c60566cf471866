"""The reporting fact model: SQLAlchemy Core tables fed by the projection of integration events.

Every fact table carries a ``generation`` in its primary key: a rebuild projects the streams
into generation g+1 while g is still served, then switches ``reporting_state``'s active
generation. Dates are business dates; identifiers are the UUID strings of the events.
"""

from __future__ import annotations

import re
from importlib import resources

import sqlalchemy as sa

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
)
"""A cooperative's current profile (the latest values, whatever the date)."""

membership_periods = sa.Table(
    "reporting_membership_periods",
    metadata,
    _generation(),
    _uuid("cooperative_id", primary_key=True, nullable=False),
    sa.Column("period_number", sa.Integer, primary_key=True, autoincrement=False),
    # start_on is null only for a departure whose admission the projection never saw.
    sa.Column("start_on", sa.Date),
    sa.Column("end_on", sa.Date),
    sa.Index("ix_reporting_membership_periods_start", "generation", "start_on"),
    sa.Index("ix_reporting_membership_periods_end", "generation", "end_on"),
    # The cooperatives active on a day, read in cooperative order without the table.
    sa.Index(
        "ix_reporting_membership_periods_cooperative",
        "generation",
        "cooperative_id",
        "start_on",
        "end_on",
    ),
)
"""Membership periods [start_on, end_on): end_on is the first day no longer a member."""

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
    # Running totals of the activity's attendance records (kept by the projection).
    sa.Column("member_attendances", sa.Integer, nullable=False, default=0),
    sa.Column("participants", sa.Integer, nullable=False, default=0),
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
"""An activity's partners; partner_key is the name trimmed and case-folded."""

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
    # Participation: does an active cooperative have an attendance in [S, C] (of a type)?
    sa.Index(
        "ix_reporting_attendances_cooperative_date",
        "generation",
        "cooperative_id",
        "activity_date",
        "activity_cancelled",
    ),
    sa.Index(
        "ix_reporting_attendances_cooperative_type",
        "generation",
        "cooperative_id",
        "activity_type",
        "activity_date",
        "activity_cancelled",
    ),
)
"""Member attendance (cooperative x activity), with its activity's type, date and status.

The activity's fields are copied so that participation is read without a join; the
projection keeps them in step with the activity.
"""

public_attendances = sa.Table(
    "reporting_public_attendances",
    metadata,
    _generation(),
    _uuid("event_id", primary_key=True, nullable=False),
    _uuid("activity_id", nullable=False),
    sa.Column("attendee_count", sa.Integer, nullable=False),
    sa.Column("region", sa.String(8)),
    sa.Index("ix_reporting_public_attendances_activity", "generation", "activity_id"),
)
"""Public attendance records, keyed by the id of the event that recorded them."""

ambassadors = sa.Table(
    "reporting_ambassadors",
    metadata,
    _generation(),
    _uuid("ambassador_id", primary_key=True, nullable=False),
    _uuid("cooperative_id"),
    sa.Column("enrolled_on", sa.Date),
    sa.Column("ended_on", sa.Date),
    sa.Column("end_reason", sa.String(16)),
    sa.Index("ix_reporting_ambassadors_enrolled", "generation", "enrolled_on", "ended_on"),
)
"""Ambassador spans [enrolled_on, ended_on); end_reason is retired or deactivated."""

ambassador_actions = sa.Table(
    "reporting_ambassador_actions",
    metadata,
    _generation(),
    _uuid("event_id", primary_key=True, nullable=False),
    _uuid("ambassador_id", nullable=False),
    sa.Column("kind", sa.String(32)),
    sa.Column("performed_on", sa.Date, nullable=False),
    _uuid("activity_id"),
    sa.Column("people_reached", sa.Integer, nullable=False, default=0),
    sa.Index(
        "ix_reporting_ambassador_actions_performed",
        "generation",
        "performed_on",
        "ambassador_id",
        "people_reached",
    ),
)
"""Ambassador actions, keyed by the id of the event that logged them."""

FACT_TABLES: tuple[sa.Table, ...] = (
    cooperatives,
    membership_periods,
    activities,
    activity_partners,
    attendances,
    public_attendances,
    ambassadors,
    ambassador_actions,
)

_VIEW_STATEMENT = re.compile(
    r"(CREATE|DROP)\s+VIEW\s+(?:IF\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE
)


def create_schema(conn: sa.Connection) -> None:
    """Create the fact tables, the state row (generation 1 active) and the BI views."""
    metadata.create_all(conn)
    if active_generation_or_none(conn) is None:
        conn.execute(
            sa.insert(reporting_state).values(id=STATE_ROW_ID, active_generation=INITIAL_GENERATION)
        )
    create_bi_views(conn)


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
