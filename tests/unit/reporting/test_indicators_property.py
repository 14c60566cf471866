"""Property: projecting any valid history and computing the indicators in SQL agrees with a
plain Python reading of CONTRACT §5's definitions applied to the same history."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.reporting.facts import FACT_TABLES, create_schema
from services.reporting.fiscal_year import FiscalYear, YearStart
from services.reporting.indicators import (
    ACTIVITY_TYPES,
    NOT_IN_DIRECTORY,
    PARTNER_KINDS,
    REGION_CODES,
    TABLE_ACTION_KINDS,
    compute_indicators,
)
from services.reporting.projection import apply_event, apply_events, drop_generation
from shared.names import normalized_name

REGIONS = ["01", "02", "03", "06"]
SECTORS = ["boulangerie", "microbrasserie", "imprimerie"]
PARTNERS = [
    "Pôle ÉS",
    " pôle és ",
    "PÔLE ÉS",
    "Maison",
    "maison  ",
    "Straße",
    "STRASSE",
    "Cégep",
    "L’Atelier",
    "l'atelier",
    "Est–Ouest",
    "est-ouest",
]
# Film-discussions and Parcours COOP sessions have indicators of their own: draw them more often.
WEIGHTED_TYPES = [*ACTIVITY_TYPES, *["cine_discussion"] * 4, *["parcours_coop"] * 2]
YEAR_STARTS = [YearStart(9, 1), YearStart(1, 1), YearStart(7, 15)]
SPAN_DAYS = 600  # dates are drawn from 120 days before S to 480 days after, or on the edges


# --- the history model ------------------------------------------------------------------------


@dataclass
class Cooperative:
    id: str
    region: str
    sector: str
    worker_members: int
    periods: list[tuple[date, date | None]]
    updates: list[tuple[int, dict[str, Any]]]  # (position among its events, changes)

    def profile(self) -> dict[str, Any]:
        current = {
            "region": self.region,
            "sector": self.sector,
            "worker_members": self.worker_members,
        }
        for _, changes in self.updates:
            current.update(changes)
        return current

    def active_on(self, day: date) -> bool:
        return any(start <= day and (end is None or day < end) for start, end in self.periods)


@dataclass
class Activity:
    id: str
    type: str
    on: date
    region: str | None
    partners: list[str]
    cancelled: bool
    attendance: dict[str, int] = field(default_factory=dict)  # cooperative id -> participants
    public: list[tuple[int, str | None]] = field(default_factory=list)


@dataclass
class Ambassador:
    id: str
    cooperative_id: str
    enrolled_on: date
    ended_on: date | None
    end_reason: str
    actions: list[tuple[date, int | None]]


@dataclass
class History:
    year: FiscalYear
    cutoff: date
    cooperatives: list[Cooperative]
    activities: list[Activity]
    ambassadors: list[Ambassador]
    streams: list[list[tuple[str, str, dict[str, Any]]]]  # per stream: (type, aggregate, data)
    interleaving: list[int]


# --- strategies -------------------------------------------------------------------------------


def later_dates(edges: list[date], after: date, *, strictly: bool) -> st.SearchStrategy[date]:
    """Dates after ``after`` (or on it), with the year's edges among them when they qualify."""
    low = 1 if strictly else 0
    spans = st.integers(low, 200).map(lambda n: after + timedelta(days=n))
    candidates = [edge for edge in edges if edge > after or (edge == after and not strictly)]
    return st.one_of(st.sampled_from(candidates), spans) if candidates else spans


@st.composite
def cooperatives(draw: st.DrawFn, dates: st.SearchStrategy[date], edges: list[date]) -> Cooperative:
    start = draw(dates)
    periods: list[tuple[date, date | None]] = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 2)) == 0:
            periods.append((start, None))
            break
        end = draw(later_dates(edges, start, strictly=True))
        periods.append((start, end))
        if not draw(st.booleans()):
            break
        start = end + timedelta(days=draw(st.sampled_from([0, 0, 1, 30, 100])))
    changes = st.fixed_dictionaries(
        {},
        optional={
            "region": st.sampled_from(REGIONS),
            "sector": st.sampled_from(SECTORS),
            "worker_members": st.integers(1, 40),
            "name": st.just("Nouveau nom"),
        },
    ).filter(bool)
    updates = draw(st.lists(st.tuples(st.integers(0, 2 * len(periods)), changes), max_size=3))
    return Cooperative(
        id=str(uuid.UUID(int=draw(st.integers(0, 2**64)))),
        region=draw(st.sampled_from(REGIONS)),
        sector=draw(st.sampled_from(SECTORS)),
        worker_members=draw(st.integers(1, 40)),
        periods=periods,
        updates=sorted(updates, key=lambda u: u[0]),
    )


@st.composite
def activities(draw: st.DrawFn, dates: st.SearchStrategy[date], coop_ids: list[str]) -> Activity:
    activity = Activity(
        id=str(uuid.uuid4()),
        type=draw(st.sampled_from(WEIGHTED_TYPES)),
        on=draw(dates),
        region=draw(st.one_of(st.none(), st.sampled_from(REGIONS))),
        partners=draw(st.lists(st.sampled_from(PARTNERS), max_size=3)),
        cancelled=draw(st.integers(0, 4)) == 0,
    )
    if coop_ids:
        attending = draw(st.lists(st.sampled_from(coop_ids), unique=True, max_size=4))
        activity.attendance = {coop: draw(st.integers(1, 5)) for coop in attending}
    activity.public = draw(
        st.lists(
            st.tuples(st.integers(1, 60), st.one_of(st.none(), st.sampled_from(REGIONS))),
            max_size=3,
        )
    )
    return activity


@st.composite
def ambassadors(
    draw: st.DrawFn, dates: st.SearchStrategy[date], edges: list[date], coop_ids: list[str]
) -> Ambassador:
    enrolled_on = draw(dates)
    ended_on = (
        draw(later_dates(edges, enrolled_on, strictly=False)) if draw(st.booleans()) else None
    )
    actions: list[tuple[date, int | None]] = []
    for _ in range(draw(st.integers(0, 4))):
        performed_on = draw(later_dates(edges, enrolled_on, strictly=False))
        if ended_on is None or performed_on < ended_on:
            actions.append((performed_on, draw(st.one_of(st.none(), st.integers(0, 30)))))
    return Ambassador(
        id=str(uuid.uuid4()),
        cooperative_id=draw(st.sampled_from(coop_ids)) if coop_ids else str(uuid.uuid4()),
        enrolled_on=enrolled_on,
        ended_on=ended_on,
        end_reason=draw(st.sampled_from(["retired", "deactivated"])),
        actions=actions,
    )


def _membership_stream(coops: list[Cooperative]) -> list[tuple[str, str, dict[str, Any]]]:
    stream: list[tuple[str, str, dict[str, Any]]] = []
    for coop in coops:
        events: list[tuple[str, str, dict[str, Any]]] = []
        for number, (start, end) in enumerate(coop.periods):
            if number == 0:
                data: dict[str, Any] = {
                    "cooperative_id": coop.id,
                    "name": "Coop",
                    "region": coop.region,
                    "sector": coop.sector,
                    "worker_members": coop.worker_members,
                    "joined_on": start.isoformat(),
                    "neq": None,
                }
                events.append(("CoopJoined", coop.id, data))
            else:
                data = {"cooperative_id": coop.id, "rejoined_on": start.isoformat()}
                events.append(("CoopRejoined", coop.id, data))
            if end is not None:
                data = {"cooperative_id": coop.id, "left_on": end.isoformat(), "reason": None}
                events.append(("CoopLeft", coop.id, data))
        for offset, (position, changes) in enumerate(coop.updates):
            update = (
                "CoopProfileUpdated",
                coop.id,
                {"cooperative_id": coop.id, "changes": changes},
            )
            events.insert(min(1 + position + offset, len(events)), update)
        stream.extend(events)
    return stream


def _events_stream(acts: list[Activity]) -> list[tuple[str, str, dict[str, Any]]]:
    stream: list[tuple[str, str, dict[str, Any]]] = []
    for a in acts:
        stream.append(
            (
                "ActivityScheduled",
                a.id,
                {
                    "activity_id": a.id,
                    "type": a.type,
                    "title": "Activité",
                    "date": a.on.isoformat(),
                    "format": "in_person" if a.region else "remote",
                    "region": a.region,
                    "partners": a.partners,
                },
            )
        )
        for coop, participants in a.attendance.items():
            data = {
                "activity_id": a.id,
                "cooperative_id": coop,
                "participants": participants,
                "activity_type": a.type,
                "activity_date": a.on.isoformat(),
            }
            stream.append(("ActivityAttended", a.id, data))
        for count, region in a.public:
            data = {"activity_id": a.id, "count": count, "region": region}
            stream.append(("PublicAttendanceRecorded", a.id, data))
        if a.cancelled:
            stream.append(("ActivityCancelled", a.id, {"activity_id": a.id, "reason": None}))
    return stream


def _ambassadors_stream(people: list[Ambassador]) -> list[tuple[str, str, dict[str, Any]]]:
    stream: list[tuple[str, str, dict[str, Any]]] = []
    for m in people:
        data: dict[str, Any] = {
            "ambassador_id": m.id,
            "cooperative_id": m.cooperative_id,
            "enrolled_on": m.enrolled_on.isoformat(),
        }
        stream.append(("AmbassadorEnrolled", m.id, data))
        for performed_on, people_reached in m.actions:
            data = {
                "ambassador_id": m.id,
                "kind": "presentation",
                "performed_on": performed_on.isoformat(),
                "activity_id": None,
                "people_reached": people_reached,
            }
            stream.append(("AmbassadorActionLogged", m.id, data))
        if m.ended_on is not None:
            if m.end_reason == "retired":
                data = {"ambassador_id": m.id, "retired_on": m.ended_on.isoformat()}
                stream.append(("AmbassadorRetired", m.id, data))
            else:
                data = {
                    "ambassador_id": m.id,
                    "effective_on": m.ended_on.isoformat(),
                    "reason": "cooperative_left",
                }
                stream.append(("AmbassadorDeactivated", m.id, data))
    return stream


@st.composite
def histories(draw: st.DrawFn) -> History:
    year = FiscalYear(2023, draw(st.sampled_from(YEAR_STARTS)))
    as_of = draw(
        st.one_of(
            st.none(),
            st.integers(0, (year.end - year.start).days + 30).map(
                lambda n: year.start + timedelta(days=n)
            ),
        )
    )
    cutoff = year.cutoff(as_of)
    day = timedelta(days=1)
    base = year.start - timedelta(days=120)
    edges = [year.start - day, year.start, cutoff - day, cutoff, cutoff + day, year.end + day]
    dates = st.one_of(
        st.sampled_from(edges),
        st.integers(0, SPAN_DAYS).map(lambda n: base + timedelta(days=n)),
    )
    coops = draw(st.lists(cooperatives(dates, edges), max_size=6, unique_by=lambda c: c.id))
    coop_ids = [c.id for c in coops] + ([str(uuid.uuid4())] if draw(st.booleans()) else [])
    acts = draw(st.lists(activities(dates, coop_ids), max_size=7))
    people = draw(st.lists(ambassadors(dates, edges, coop_ids), max_size=4))
    streams = [_membership_stream(coops), _events_stream(acts), _ambassadors_stream(people)]
    rng = random.Random(draw(st.integers(0, 2**32)))
    interleaving = [i for i, s in enumerate(streams) for _ in s]
    rng.shuffle(interleaving)
    return History(year, cutoff, coops, acts, people, streams, interleaving)


def envelopes(history: History) -> Iterator[dict[str, Any]]:
    """The three streams' envelopes, each stream in order, interleaved as drawn."""
    positions = [iter(stream) for stream in history.streams]
    versions: dict[str, int] = {}
    for number, stream in enumerate(history.interleaving):
        event_type, aggregate_id, data = next(positions[stream])
        versions[aggregate_id] = versions.get(aggregate_id, 0) + 1
        yield {
            "event_id": str(uuid.UUID(int=number + 1)),
            "event_type": event_type,
            "schema_version": 1,
            "aggregate_id": aggregate_id,
            "aggregate_version": versions[aggregate_id],
            "occurred_at": "2024-01-05T10:00:00Z",
            "correlation_id": str(uuid.UUID(int=number + 1)),
            "causation_id": None,
            "data": data,
        }


# --- the definitions, read plainly ------------------------------------------------------------


def expected_indicators(h: History) -> dict[str, Any]:
    s, c = h.year.start, h.cutoff

    def in_year(day: date | None) -> bool:
        return day is not None and s <= day <= c

    active = [coop for coop in h.cooperatives if coop.active_on(c)]
    active_ids = {coop.id for coop in active}
    starts = [start for coop in h.cooperatives for start, _ in coop.periods]
    ends = [end for coop in h.cooperatives for _, end in coop.periods]

    joined_by_month: dict[str, int] = {}
    day = s
    while day <= c:
        joined_by_month.setdefault(day.strftime("%Y-%m"), 0)
        day += timedelta(days=1)
    for start in starts:
        if in_year(start):
            joined_by_month[start.strftime("%Y-%m")] += 1

    by_region = dict.fromkeys(REGION_CODES, 0)
    by_sector: dict[str, int] = {}
    for coop in active:
        profile = coop.profile()
        by_region[profile["region"]] += 1
        by_sector[profile["sector"]] = by_sector.get(profile["sector"], 0) + 1

    counted = [a for a in h.activities if not a.cancelled and in_year(a.on)]
    participating = {coop for a in counted for coop in a.attendance if coop in active_ids}
    total = len(active)
    rate = (
        0.0
        if total == 0
        else float(Fraction(round(Fraction(len(participating), total) * 10_000), 10_000))
    )

    def of_type(activity_type: str) -> list[Activity]:
        return [a for a in counted if a.type == activity_type]

    def public_regions(acts: list[Activity]) -> int:
        regions = {region or a.region for a in acts for _, region in a.public}
        return len(regions - {None})

    cine = of_type("cine_discussion")
    cine_partners = {normalized_name(p) for a in cine for p in a.partners} - {""}
    parcours = of_type("parcours_coop")
    actions = [(m.id, people) for m in h.ambassadors for on, people in m.actions if in_year(on)]

    return {
        "members.total": total,
        "members.joined": sum(1 for start in starts if in_year(start)),
        "members.left": sum(1 for end in ends if in_year(end)),
        "members.joined_by_month": joined_by_month,
        "members.by_region": by_region,
        "members.by_sector": by_sector,
        "members.worker_members": sum(coop.profile()["worker_members"] for coop in active),
        "participation.participating_members": len(participating),
        "participation.rate": rate,
        "participation.by_activity_type": {
            t: len({coop for a in of_type(t) for coop in a.attendance if coop in active_ids})
            for t in ACTIVITY_TYPES
        },
        "activities.total": len(counted),
        "activities.by_type": {t: len(of_type(t)) for t in ACTIVITY_TYPES},
        "attendance.member_attendances": sum(len(a.attendance) for a in counted),
        "attendance.participants": sum(sum(a.attendance.values()) for a in counted),
        "outreach.cine_discussions": len(cine),
        "outreach.people_reached": sum(n for a in cine for n, _ in a.public),
        "outreach.regions": public_regions(cine),
        "outreach.partners": len(cine_partners),
        "outreach.partners_by_kind": {
            **dict.fromkeys(PARTNER_KINDS, 0),
            NOT_IN_DIRECTORY: len(cine_partners),
        },
        "parcours.sessions": len(parcours),
        "parcours.participants": sum(n for a in parcours for n, _ in a.public),
        "parcours.regions": public_regions(parcours),
        "ambassadors.mobilized": len({ambassador for ambassador, _ in actions}),
        "ambassadors.actions": len(actions),
        "ambassadors.people_reached": sum(people or 0 for _, people in actions),
        "ambassadors.active": sum(
            1
            for m in h.ambassadors
            if m.enrolled_on <= c and (m.ended_on is None or m.ended_on > c)
        ),
        # No partnerships stream in these histories.
        "research.projects": 0,
        "research.partners": 0,
        "sector_tables.active": 0,
        "sector_tables.member_cooperatives": 0,
        "sector_tables.actions": 0,
        "sector_tables.actions_by_kind": dict.fromkeys(TABLE_ACTION_KINDS, 0),
        "sector_tables.retailers": 0,
    }


# --- the property -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        create_schema(conn)
    yield engine
    engine.dispose()


_generations = itertools.count(1)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories(), cuts=st.randoms(use_true_random=False))
def test_projected_indicators_equal_the_definitions_applied_to_the_history(
    engine: sa.Engine, history: History, cuts: random.Random
) -> None:
    generation = next(_generations)
    try:
        with engine.begin() as conn:
            for batch in batches(list(envelopes(history)), cuts):
                apply_events(conn, generation, batch)
        with engine.connect() as conn:
            computed = compute_indicators(conn, generation, history.year, history.cutoff)
    finally:
        with engine.begin() as conn:
            drop_generation(conn, generation)

    assert computed == expected_indicators(history)


def batches(items: list[dict[str, Any]], cuts: random.Random) -> Iterator[list[dict[str, Any]]]:
    """The envelopes cut into consecutive batches of drawn sizes (one to all)."""
    start = 0
    while start < len(items):
        size = cuts.choice([1, 2, 3, 7, 50, len(items)])
        yield items[start : start + size]
        start += size


def facts_of(conn: sa.Connection, generation: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every fact row of a generation, table by table, in key order (generation left out)."""
    return {
        table.name: sorted(
            (
                tuple(row)[1:]
                for row in conn.execute(sa.select(table).where(table.c.generation == generation))
            ),
            key=repr,
        )
        for table in FACT_TABLES
    }


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), cuts=st.randoms(use_true_random=False))
def test_the_facts_do_not_depend_on_how_the_history_is_cut_into_batches(
    engine: sa.Engine, history: History, cuts: random.Random
) -> None:
    one_by_one, batched = next(_generations), next(_generations)
    items = list(envelopes(history))
    try:
        with engine.begin() as conn:
            for envelope in items:
                apply_event(conn, one_by_one, envelope)
            for batch in batches(items, cuts):
                apply_events(conn, batched, batch)
            assert facts_of(conn, batched) == facts_of(conn, one_by_one)
    finally:
        with engine.begin() as conn:
            drop_generation(conn, one_by_one)
            drop_generation(conn, batched)
