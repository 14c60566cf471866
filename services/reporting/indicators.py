"""The annual report's indicators (CONTRACT §5), computed from one generation of the fact model.

S is the fiscal year's start and C the cut-off; "in the year" means a business date in [S, C];
a cooperative is active on d when one of its periods [start_on, end_on) contains d; counted
activities are those not cancelled; an attendance's date is its activity's date.

Records count as corrected (§5 v2): periods as they stand after corrections, an attendance on
its activity's current type and date; withdrawn records count nowhere, and a voided
cooperative, its attendances, its ambassadors and their actions count in no indicator.

``as_recorded`` (§11, §16.8) computes the same figures from the facts as they stood at an
instant: every table's latest versions recorded at or before it are copied into an in-memory
model, and the same queries run there (an audit query: the plain one never reads history).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa

from services.reporting.facts import (
    FACT_TABLES,
    VERSIONED_TABLES,
    activities,
    activity_partners,
    ambassador_actions,
    ambassadors,
    attendances,
    changes_after,
    cooperatives,
    membership_periods,
    partners,
    public_attendances,
    recorded_at_text,
    research_projects,
    retail_placements,
    sector_table_actions,
    sector_table_members,
    sector_tables,
    version_columns,
    version_key,
)
from services.reporting.fiscal_year import FiscalYear, FiscalYearError
from services.reporting.projection import partner_keys
from services.reporting.regions import ACTIVITY_TYPES
from shared.fields import REGION_CODES
from shared.names import normalized_name
from shared.vocabulary import PartnerKind, TableActionKind

PARTNER_KINDS: tuple[str, ...] = tuple(kind.value for kind in PartnerKind)
NOT_IN_DIRECTORY = "non_repertorie"
TABLE_ACTION_KINDS: tuple[str, ...] = tuple(kind.value for kind in TableActionKind)

INDICATOR_NAMES: tuple[str, ...] = (
    "members.total",
    "members.joined",
    "members.left",
    "members.joined_by_month",
    "members.by_region",
    "members.by_sector",
    "members.worker_members",
    "participation.participating_members",
    "participation.rate",
    "participation.by_activity_type",
    "activities.total",
    "activities.by_type",
    "attendance.member_attendances",
    "attendance.participants",
    "outreach.cine_discussions",
    "outreach.people_reached",
    "outreach.regions",
    "outreach.partners",
    "outreach.partners_by_kind",
    "parcours.sessions",
    "parcours.participants",
    "parcours.regions",
    "ambassadors.mobilized",
    "ambassadors.actions",
    "ambassadors.people_reached",
    "ambassadors.active",
    "research.projects",
    "research.partners",
    "sector_tables.active",
    "sector_tables.member_cooperatives",
    "sector_tables.actions",
    "sector_tables.actions_by_kind",
    "sector_tables.retailers",
)

_RATE_PLACES = Decimal("0.0001")


def participation_rate(participating: int, total: int) -> float:
    """participating / total rounded half-even to 4 decimals; 0 when total is 0."""
    if total == 0:
        return 0.0
    rate = (Decimal(participating) / Decimal(total)).quantize(_RATE_PLACES, ROUND_HALF_EVEN)
    return float(rate)


def compute_indicators(
    conn: sa.Connection,
    generation: int,
    fiscal_year: FiscalYear,
    cutoff: date,
    *,
    as_recorded: datetime | None = None,
) -> dict[str, object]:
    """Every indicator of CONTRACT §5 and §12 for the year [S, cutoff], in INDICATOR_NAMES order.

    With ``as_recorded``, from the facts as they stood at that instant (§11). Run it inside
    one transaction (repeatable read on PostgreSQL) for a consistent snapshot.
    """
    start = fiscal_year.start
    if not start <= cutoff <= fiscal_year.end:
        raise FiscalYearError(
            f"cut-off {cutoff.isoformat()} is outside {fiscal_year.label} "
            f"({start.isoformat()} to {fiscal_year.end.isoformat()})"
        )
    if as_recorded is not None:
        return _as_recorded(conn, generation, fiscal_year, cutoff, recorded_at_text(as_recorded))
    query = _Queries(conn, generation, start, cutoff)
    total, members = query.members(fiscal_year)
    result: dict[str, object] = dict(members)
    result.update(query.participation(total))
    by_type = query.activities_by_type()
    result["activities.total"] = sum(by_type.values())
    result["activities.by_type"] = by_type
    result.update(query.attendance())
    cine = query.public_reach("cine_discussion")
    result["outreach.cine_discussions"] = by_type["cine_discussion"]
    result["outreach.people_reached"] = cine.people
    result["outreach.regions"] = cine.regions
    result["outreach.partners"], result["outreach.partners_by_kind"] = query.partners(
        "cine_discussion"
    )
    parcours = query.public_reach("parcours_coop")
    result["parcours.sessions"] = by_type["parcours_coop"]
    result["parcours.participants"] = parcours.people
    result["parcours.regions"] = parcours.regions
    result.update(query.ambassadors())
    result.update(query.research())
    result.update(query.sector_tables())
    return {name: result[name] for name in INDICATOR_NAMES}


def _as_recorded(
    conn: sa.Connection, generation: int, fiscal_year: FiscalYear, cutoff: date, instant: str
) -> dict[str, object]:
    """The indicators from the facts' versions recorded at or before ``instant``.

    The rows as they stood are the current facts but for those changed since the instant
    (``changes_after``: a few history rows when the instant is recent); when nothing changed,
    the plain computation answers. Otherwise what the year's figures read is copied into an
    in-memory model: the smaller tables whole, and of the largest ones the activities dated in
    [S, C] (with their attendance and public attendance) and the actions performed then.
    """
    changed = changes_after(conn, generation, instant)
    if not any(changed.values()):
        return compute_indicators(conn, generation, fiscal_year, cutoff)
    start = fiscal_year.start.isoformat()
    end = cutoff.isoformat()

    def in_year(day: object) -> bool:
        return isinstance(day, str) and start <= day <= end

    def current(table: sa.Table, *where: sa.ColumnElement[bool]) -> list[list[Any]]:
        """The table's current rows not changed since the instant (values in version order,
        dates as ISO text)."""
        columns = [c for c in table.columns if c.name != "generation"]
        selected = [sa.cast(c, sa.String) if isinstance(c.type, sa.Date) else c for c in columns]
        query = sa.select(*selected).where(table.c.generation == generation, *where)
        then = changed[table.name]
        # The driver's rows as they come (no result processing: dates are read as text, a
        # boolean as SQLite's 0 or 1, which the copy stores alike); JSON as the history has it.
        result = conn.execute(query)
        try:
            found = result.cursor.fetchall()
        finally:
            result.close()
        texts = [i for i, c in enumerate(columns) if isinstance(c.type, sa.JSON)]
        key = version_key(table)
        rows = [list(values) for values in found if not then or key(values) not in then]
        for values in rows if texts else ():
            for i in texts:
                if isinstance(values[i], str):
                    values[i] = json.loads(values[i])
        return rows

    def then(table: sa.Table, keep: Any) -> list[list[Any]]:
        """The rows changed since the instant, as they stood then, that ``keep`` keeps."""
        return [v for v in changed[table.name].values() if v is not None and keep(v)]

    def position(table: sa.Table, name: str) -> int:
        return version_columns(table).index(name)

    rows: dict[str, list[list[Any]]] = {}
    for table in VERSIONED_TABLES:
        if table not in (activities, attendances, public_attendances, ambassador_actions):
            rows[table.name] = current(table) + then(table, bool)
    for table, column in (
        (activities, "activity_date"),
        (ambassador_actions, "performed_on"),
        (attendances, "activity_date"),
    ):
        at = position(table, column)
        rows[table.name] = current(
            table, table.c[column].between(fiscal_year.start, cutoff)
        ) + then(table, lambda values, at=at: in_year(values[at]))
    activity = position(activities, "activity_id")
    kept = {values[activity] for values in rows[activities.name]}
    record_activity = position(public_attendances, "activity_id")
    attended = position(attendances, "activity_id")
    ids = sorted(kept)
    public: list[list[Any]] = []
    # An activity's attendance totals follow from all its attendance as it stood (whatever
    # date each record carried then).
    of_the_year: list[list[Any]] = []
    for first in range(0, len(ids), 500):
        chunk = ids[first : first + 500]
        public += current(public_attendances, public_attendances.c.activity_id.in_(chunk))
        of_the_year += current(attendances, attendances.c.activity_id.in_(chunk))
    public += then(public_attendances, lambda values: values[record_activity] in kept)
    of_the_year += then(attendances, lambda values: values[attended] in kept)
    rows[public_attendances.name] = public

    totals: dict[str, list[int]] = {}
    participants = position(attendances, "participants")
    withdrawn = position(attendances, "withdrawn")
    for values in of_the_year:
        if not values[withdrawn]:
            total = totals.setdefault(values[attended], [0, 0])
            total[0] += 1
            total[1] += values[participants]
    member_count = position(activities, "member_attendances")
    people = position(activities, "participants")
    partners_at = position(activities, "partners")
    partner_rows: list[list[Any]] = []
    for values in rows[activities.name]:
        values[member_count], values[people] = totals.get(values[activity], (0, 0))
        partner_rows += [
            [values[activity], names["partner_key"], names["partner"]]
            for names in _partner_rows(values[partners_at])
        ]
    rows[activity_partners.name] = partner_rows

    engine = sa.create_engine("sqlite://")
    try:
        with engine.begin() as memory:
            # The rows first, the indexes after (built in one pass each).
            indexes = [index for table in FACT_TABLES for index in table.indexes]
            for table in FACT_TABLES:
                table.create(memory)
            for table in FACT_TABLES:
                for index in table.indexes:
                    index.drop(memory)
            for table in FACT_TABLES:
                _copy(memory, table, generation, rows.get(table.name, []))
            for index in indexes:
                index.create(memory)
            return compute_indicators(memory, generation, fiscal_year, cutoff)
    finally:
        engine.dispose()


def _copy(memory: sa.Connection, table: sa.Table, generation: int, rows: list[list[Any]]) -> None:
    """Insert rows (values in version order, dates as ISO text) into an in-memory SQLite table
    as SQLAlchemy stores them there: dates as ISO text, JSON as its text."""
    if not rows:
        return
    columns = [c for c in table.columns if c.name != "generation"]
    encoded = [i for i, c in enumerate(columns) if isinstance(c.type, sa.JSON)]
    names = ", ".join(["generation", *(c.name for c in columns)])
    marks = ", ".join("?" * (len(columns) + 1))
    if encoded:
        for values in rows:
            for i in encoded:
                if values[i] is not None:
                    values[i] = json.dumps(values[i])
    memory.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
        [(generation, *values) for values in rows],
    )


def _partner_rows(names: object) -> list[dict[str, str]]:
    if not isinstance(names, list):
        return []
    keyed = partner_keys(n for n in names if isinstance(n, str))
    return [{"partner_key": key, "partner": name} for key, name in keyed.items()]


def partner_directory(
    rows: Iterable[tuple[str, str | None, str | None, object]],
) -> dict[str, tuple[str, str | None]]:
    """Normalized name or alias -> (partner id, kind), from (id, name, kind, aliases) rows.

    Names and aliases are unique in the directory (§12); should two partners claim one, the
    partner whose name it is wins, then the smallest id.
    """
    names: dict[str, tuple[str, str | None]] = {}
    aliases: dict[str, tuple[str, str | None]] = {}
    for partner_id, name, kind, alias_list in sorted(rows, key=lambda r: r[0]):
        if name:
            names.setdefault(normalized_name(name), (partner_id, kind))
        for alias in alias_list if isinstance(alias_list, list) else []:
            if isinstance(alias, str):
                aliases.setdefault(normalized_name(alias), (partner_id, kind))
    return {**aliases, **names}


def scalar_indicators(ind: Mapping[str, object]) -> dict[str, float]:
    """Only the scalar indicators (numbers), as floats, e.g. for OpenMetrics gauges."""
    return {
        name: float(value)
        for name, value in ind.items()
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    }


class _Reach:
    """Public attendance at one type of counted activity in the year."""

    def __init__(self, people: int, regions: int) -> None:
        self.people = people
        self.regions = regions


class _Queries:
    """The SQL aggregations behind the indicators, for one generation, S and C."""

    def __init__(self, conn: sa.Connection, generation: int, start: date, cutoff: date) -> None:
        self.conn = conn
        self.generation = generation
        self.start = start
        self.cutoff = cutoff
        self._voided_ids: list[str] | None = None

    def _active_cooperatives(self) -> sa.Select[Any]:
        """Ids of the cooperatives active on C: a period [start_on, end_on) contains C.

        The periods are read in cooperative order from an index that holds their dates, which
        gives them distinct without sorting or reading the table: `coalesce(start_on,
        start_on)` keeps SQLite from choosing the start_on index instead (measured: 7.6 ->
        1.7 ms for 6,000 cooperatives).
        """
        p = membership_periods.c
        return (
            sa.select(p.cooperative_id)
            .where(
                p.generation == self.generation,
                sa.func.coalesce(p.start_on, p.start_on) <= self.cutoff,
                sa.or_(p.end_on.is_(None), p.end_on > self.cutoff),
                p.voided == sa.false(),
            )
            .distinct()
        )

    def members(self, fiscal_year: FiscalYear) -> tuple[int, dict[str, object]]:
        active = self._active_cooperatives().subquery("active")
        c = cooperatives.c
        rows = self.conn.execute(
            sa.select(
                c.region,
                c.sector,
                sa.func.count().label("cooperatives"),
                sa.func.coalesce(sa.func.sum(c.worker_members), 0).label("worker_members"),
            )
            .select_from(
                active.outerjoin(
                    cooperatives,
                    sa.and_(
                        c.generation == self.generation,
                        c.cooperative_id == active.c.cooperative_id,
                    ),
                )
            )
            .group_by(c.region, c.sector)
        ).all()
        total = 0
        worker_members = 0
        by_region = dict.fromkeys(REGION_CODES, 0)
        by_sector: dict[str, int] = {}
        for region, sector, count, workers in rows:
            total += int(count)
            worker_members += int(workers)
            if region is not None:
                by_region[region] = by_region.get(region, 0) + int(count)
            if sector is not None:
                by_sector[sector] = by_sector.get(sector, 0) + int(count)

        p = membership_periods.c
        joins_by_day = self.conn.execute(
            sa.select(p.start_on, sa.func.count())
            .where(
                p.generation == self.generation,
                p.start_on.between(self.start, self.cutoff),
                p.voided == sa.false(),
            )
            .group_by(p.start_on)
        ).all()
        joined_by_month = dict.fromkeys(fiscal_year.months(self.cutoff), 0)
        for day, count in joins_by_day:
            day = _as_date(day)
            joined_by_month[f"{day.year:04d}-{day.month:02d}"] += int(count)
        left = self.conn.execute(
            sa.select(sa.func.count()).where(
                p.generation == self.generation,
                p.end_on.between(self.start, self.cutoff),
                p.voided == sa.false(),
            )
        ).scalar_one()
        return total, {
            "members.total": total,
            "members.joined": sum(joined_by_month.values()),
            "members.left": int(left),
            "members.joined_by_month": joined_by_month,
            "members.by_region": by_region,
            "members.by_sector": dict(sorted(by_sector.items())),
            "members.worker_members": worker_members,
        }

    def participation(self, total: int) -> dict[str, object]:
        """Active cooperatives with an attendance at a counted activity in the year."""
        t = attendances.c
        active = self._active_cooperatives().subquery("active")

        def attended(*condition: sa.ColumnElement[bool]) -> sa.Exists:
            return (
                sa.select(t.activity_id)
                .where(
                    t.generation == self.generation,
                    t.cooperative_id == active.c.cooperative_id,
                    *condition,
                    t.activity_date.between(self.start, self.cutoff),
                    t.activity_cancelled == sa.false(),
                    t.withdrawn == sa.false(),
                )
                .exists()
            )

        # One index probe per active cooperative and type: the cost follows the number of
        # members, not the volume of attendance.
        row = self.conn.execute(
            sa.select(
                sa.func.count(),
                *(
                    sa.func.coalesce(
                        sa.func.sum(sa.case((attended(t.activity_type == name), 1), else_=0)),
                        0,
                    )
                    for name in ACTIVITY_TYPES
                ),
            )
            .select_from(active)
            .where(attended())
        ).one()
        participating = int(row[0])
        by_type = {name: int(count) for name, count in zip(ACTIVITY_TYPES, row[1:], strict=True)}
        return {
            "participation.participating_members": participating,
            "participation.rate": participation_rate(participating, total),
            "participation.by_activity_type": by_type,
        }

    def _counted_activities(self) -> list[sa.ColumnElement[bool]]:
        """Activities in the year that are not cancelled."""
        a = activities.c
        return [
            a.generation == self.generation,
            a.activity_date.between(self.start, self.cutoff),
            a.cancelled == sa.false(),
        ]

    def activities_by_type(self) -> dict[str, int]:
        """Counted activities per type (every type present)."""
        a = activities.c
        rows = self.conn.execute(
            sa.select(a.type, sa.func.count())
            .where(*self._counted_activities(), a.scheduled == sa.true(), a.type.is_not(None))
            .group_by(a.type)
        ).all()
        by_type = dict.fromkeys(ACTIVITY_TYPES, 0)
        for activity_type, count in rows:
            by_type[activity_type] = int(count)
        return by_type

    def _voided(self) -> list[str]:
        """The voided cooperatives (few, usually none: read once, then filters only if any)."""
        if self._voided_ids is None:
            c = cooperatives.c
            self._voided_ids = list(
                self.conn.execute(
                    sa.select(c.cooperative_id).where(
                        c.generation == self.generation, c.voided == sa.true()
                    )
                ).scalars()
            )
        return self._voided_ids

    def attendance(self) -> dict[str, object]:
        """Attendance records at counted activities in the year, and their participants.

        The activities' running totals hold every record not withdrawn; a voided
        cooperative's records (rare) are then taken off.
        """
        a = activities.c
        count, participants = self.conn.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(a.member_attendances), 0),
                sa.func.coalesce(sa.func.sum(a.participants), 0),
            ).where(*self._counted_activities())
        ).one()
        t = attendances.c
        voided_count, voided_participants = 0, 0
        if self._voided():
            voided_count, voided_participants = self.conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(t.participants), 0)).where(
                    t.generation == self.generation,
                    t.cooperative_id.in_(self._voided()),
                    t.activity_date.between(self.start, self.cutoff),
                    t.activity_cancelled == sa.false(),
                    t.withdrawn == sa.false(),
                )
            ).one()
        return {
            "attendance.member_attendances": int(count) - int(voided_count),
            "attendance.participants": int(participants) - int(voided_participants),
        }

    def public_reach(self, activity_type: str) -> _Reach:
        a = activities.c
        u = public_attendances.c
        people, regions = self.conn.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(u.attendee_count), 0),
                sa.func.count(sa.distinct(sa.func.coalesce(u.region, a.region))),
            )
            .select_from(
                public_attendances.join(
                    activities,
                    sa.and_(a.generation == u.generation, a.activity_id == u.activity_id),
                )
            )
            .where(
                u.generation == self.generation,
                u.withdrawn == sa.false(),
                a.type == activity_type,
                *self._counted_activities(),
            )
        ).one()
        return _Reach(int(people), int(regions))

    def partners(self, activity_type: str) -> tuple[int, dict[str, int]]:
        """Distinct partners of counted activities of a type, and how many of each kind.

        A name equal (normalized, §16.7) to a directory partner's name or alias is that
        partner, active or not; other names are partners of their own, not in the directory.
        """
        a = activities.c
        r = activity_partners.c
        keys = {
            key
            for (key,) in self.conn.execute(
                sa.select(r.partner_key)
                .select_from(
                    activity_partners.join(
                        activities,
                        sa.and_(a.generation == r.generation, a.activity_id == r.activity_id),
                    )
                )
                .where(
                    r.generation == self.generation,
                    a.type == activity_type,
                    *self._counted_activities(),
                )
                .distinct()
            )
        }
        by_kind = {kind: 0 for kind in (*PARTNER_KINDS, NOT_IN_DIRECTORY)}
        if not keys:
            return 0, by_kind
        d = partners.c
        directory = partner_directory(
            (row.partner_id, row.name, row.kind, row.aliases)
            for row in self.conn.execute(
                sa.select(d.partner_id, d.name, d.kind, d.aliases).where(
                    d.generation == self.generation
                )
            )
        )
        found: dict[tuple[str, str], str] = {}
        for key in keys:
            known = directory.get(key)
            if known is None:
                found[("name", key)] = NOT_IN_DIRECTORY
            else:
                found[("partner", known[0])] = known[1] or NOT_IN_DIRECTORY
        for kind in found.values():
            by_kind[kind] = by_kind.get(kind, 0) + 1
        return len(found), by_kind

    def ambassadors(self) -> dict[str, object]:
        """Actions in the year, and ambassadors active on C; none of a voided cooperative's."""
        x = ambassador_actions.c
        m = ambassadors.c
        voided = self._voided()
        leave_out_actions: list[sa.ColumnElement[bool]] = []
        leave_out_ambassadors: list[sa.ColumnElement[bool]] = []
        if voided:
            of_voided = sa.select(m.ambassador_id).where(
                m.generation == self.generation, m.cooperative_id.in_(voided)
            )
            leave_out_actions.append(x.ambassador_id.not_in(of_voided.scalar_subquery()))
            leave_out_ambassadors.append(
                sa.or_(m.cooperative_id.is_(None), m.cooperative_id.not_in(voided))
            )
        mobilized, actions, people = self.conn.execute(
            sa.select(
                sa.func.count(sa.distinct(x.ambassador_id)),
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(x.people_reached), 0),
            ).where(
                x.generation == self.generation,
                x.performed_on.between(self.start, self.cutoff),
                x.withdrawn == sa.false(),
                *leave_out_actions,
            )
        ).one()
        active = self.conn.execute(
            sa.select(sa.func.count()).where(
                m.generation == self.generation,
                m.enrolled_on <= self.cutoff,
                sa.or_(m.ended_on.is_(None), m.ended_on > self.cutoff),
                *leave_out_ambassadors,
            )
        ).scalar_one()
        return {
            "ambassadors.mobilized": int(mobilized),
            "ambassadors.actions": int(actions),
            "ambassadors.people_reached": int(people),
            "ambassadors.active": int(active),
        }

    def research(self) -> dict[str, object]:
        """Projects under way at some point in the year, and their distinct partners."""
        r = research_projects.c
        projects = 0
        partner_ids: set[str] = set()
        for (ids,) in self.conn.execute(
            sa.select(r.partner_ids).where(
                r.generation == self.generation,
                r.started_on <= self.cutoff,
                sa.or_(r.ended_on.is_(None), r.ended_on >= self.start),
            )
        ):
            projects += 1
            partner_ids.update(i for i in (ids if isinstance(ids, list) else []) if i)
        return {"research.projects": projects, "research.partners": len(partner_ids)}

    def _active_tables(self) -> list[sa.ColumnElement[bool]]:
        """Tables formed on or before C and not dissolved on or before C."""
        g = sector_tables.c
        return [
            g.generation == self.generation,
            g.formed_on <= self.cutoff,
            sa.or_(g.dissolved_on.is_(None), g.dissolved_on > self.cutoff),
        ]

    def sector_tables(self) -> dict[str, object]:
        g = sector_tables.c
        active_tables = self.conn.execute(
            sa.select(sa.func.count()).where(*self._active_tables())
        ).scalar_one()
        m = sector_table_members.c
        q = membership_periods.c
        members = 0
        if active_tables:
            member_on_cutoff = (
                sa.select(q.cooperative_id)
                .where(
                    q.generation == self.generation,
                    q.cooperative_id == m.cooperative_id,
                    q.start_on <= self.cutoff,
                    sa.or_(q.end_on.is_(None), q.end_on > self.cutoff),
                    q.voided == sa.false(),
                )
                .exists()
            )
            members = self.conn.execute(
                sa.select(sa.func.count(sa.distinct(m.cooperative_id))).where(
                    m.generation == self.generation,
                    m.joined_on <= self.cutoff,
                    sa.or_(m.left_on.is_(None), m.left_on > self.cutoff),
                    m.table_id.in_(sa.select(g.table_id).where(*self._active_tables())),
                    member_on_cutoff,
                )
            ).scalar_one()
        x = sector_table_actions.c
        by_kind = dict.fromkeys(TABLE_ACTION_KINDS, 0)
        for kind, count in self.conn.execute(
            sa.select(x.kind, sa.func.count())
            .where(
                x.generation == self.generation,
                x.performed_on.between(self.start, self.cutoff),
                x.withdrawn == sa.false(),
            )
            .group_by(x.kind)
        ):
            if kind is not None:
                by_kind[kind] = by_kind.get(kind, 0) + int(count)
        p = retail_placements.c
        retailers = self.conn.execute(
            sa.select(sa.func.count(sa.distinct(p.retailer_id))).where(
                p.generation == self.generation,
                p.started_on <= self.cutoff,
                sa.or_(p.ended_on.is_(None), p.ended_on > self.cutoff),
            )
        ).scalar_one()
        return {
            "sector_tables.active": int(active_tables),
            "sector_tables.member_cooperatives": int(members),
            "sector_tables.actions": sum(by_kind.values()),
            "sector_tables.actions_by_kind": by_kind,
            "sector_tables.retailers": int(retailers),
        }


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(f"not a date: {value!r}")
