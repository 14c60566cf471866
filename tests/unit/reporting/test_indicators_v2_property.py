"""Property: with corrections (§10), voids, withdrawals and the partnerships stream (§12), the
projected indicators equal a plain reading of CONTRACT §5 and §12 applied to the records as
corrected; figures "as recorded" at an instant (§11) equal the figures of the history recorded
up to that instant; and projecting the history again (a rebuild) gives identical figures."""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.reporting import facts as fact_model
from services.reporting.facts import (
    FACT_TABLES,
    activity_partners,
    attendances,
    create_schema,
    facts_as_recorded,
    history,
    parse_recorded_at,
    recorded_at_text,
)
from services.reporting.fiscal_year import FiscalYear, YearStart
from services.reporting.indicators import (
    ACTIVITY_TYPES,
    NOT_IN_DIRECTORY,
    PARTNER_KINDS,
    REGION_CODES,
    TABLE_ACTION_KINDS,
    _partner_rows,
    compute_indicators,
)
from services.reporting.projection import apply_event, apply_events, drop_generation
from shared.names import normalized_name

REGIONS = ["01", "02", "06"]
SECTORS = ["microbrasserie", "communications", "imprimerie"]
WEIGHTED_TYPES = [*ACTIVITY_TYPES, *["cine_discussion"] * 5, "parcours_coop"]
# The directory's names, each with the alias it may go by, and spellings that normalize to them.
DIRECTORY_NAMES = [
    ("Pôle d’économie sociale", "Pôle ÉS"),
    ("CQCM", "Conseil québécois de la coopération"),
    ("UQAM", "Université du Québec à Montréal"),
    ("CERSE", "Chaire Est–Ouest"),
]
FREE_NAMES = ["Maison du quartier", "Cégep", "maison  du QUARTIER"]
SPAN_DAYS = 560
Event = tuple[str, str, dict[str, Any]]


def spellings(name: str) -> list[str]:
    """Ways people type a name that normalize to the same (§16.7)."""
    return [
        name,
        f"  {name.upper()} ",
        name.replace("’", "'").replace("–", "-").lower(),
        name.replace(" ", "\u00a0 "),
    ]


ALL_SPELLINGS = [s for pair in DIRECTORY_NAMES for n in pair for s in spellings(n)] + FREE_NAMES


# --- the records, as corrected ----------------------------------------------------------------


@dataclass
class Coop:
    id: str
    region: str
    sector: str
    worker_members: int | None
    recorded: list[tuple[date, date | None]]  # told through joins, departures and readmissions
    corrections: list[list[tuple[date, date | None]]]
    left_after: date | None  # a departure after the corrections, closing the open period
    updates: list[dict[str, Any]]
    void_steps: int  # voided, restored, voided... this many times

    @property
    def periods(self) -> list[tuple[date, date | None]]:
        periods = list(self.corrections[-1] if self.corrections else self.recorded)
        if self.left_after is not None and periods and periods[-1][1] is None:
            periods[-1] = (periods[-1][0], self.left_after)
        return periods

    @property
    def voided(self) -> bool:
        return self.void_steps % 2 == 1

    def profile(self) -> dict[str, Any]:
        current = {
            "region": self.region,
            "sector": self.sector,
            "worker_members": self.worker_members,
        }
        for changes in self.updates:
            current.update(changes)
        return current

    def active_on(self, day: date) -> bool:
        return not self.voided and any(
            start <= day and (end is None or day < end) for start, end in self.periods
        )


@dataclass
class Attendance:
    cooperative_id: str
    participants: int
    corrected: int | None
    withdrawn: bool
    recorded_again: int | None

    @property
    def final(self) -> int | None:
        """Its participants as the record stands, None when withdrawn."""
        if self.withdrawn:
            return self.recorded_again
        return self.participants if self.corrected is None else self.corrected


@dataclass
class Public:
    record_id: str | None  # None: a version-1 record (its id is its event's)
    count: int
    region: str | None
    corrected: tuple[int, str | None] | None
    withdrawn: bool

    @property
    def final(self) -> tuple[int, str | None] | None:
        if self.withdrawn:
            return None
        return self.corrected or (self.count, self.region)


@dataclass
class Activity:
    id: str
    type: str
    on: date
    region: str | None
    partners: list[str]
    cancelled: bool
    reinstated: bool
    revisions: list[dict[str, Any]]
    attendance: list[Attendance] = field(default_factory=list)
    public: list[Public] = field(default_factory=list)

    def current(self) -> dict[str, Any]:
        values = {"type": self.type, "date": self.on, "region": self.region}
        values["partners"] = self.partners
        for changes in self.revisions:
            values.update(changes)
        return values

    @property
    def counted(self) -> bool:
        return not self.cancelled or self.reinstated


@dataclass
class Action:
    action_id: str | None  # None: a version-1 action
    performed_on: date
    people: int | None
    corrected: tuple[date, int] | None
    withdrawn: bool


@dataclass
class Ambassador:
    id: str
    cooperative_id: str
    enrolled_on: date
    corrected_enrolment: date | None
    ends: list[tuple[str, date | None]]  # retired / deactivated on a date, or reactivated (None)
    actions: list[Action]

    @property
    def enrolment(self) -> date:
        return self.corrected_enrolment or self.enrolled_on

    @property
    def ended_on(self) -> date | None:
        return self.ends[-1][1] if self.ends else None


@dataclass
class Partner:
    id: str
    name: str
    alias: str
    kind: str
    swapped: bool  # renamed to its alias, the old name becoming the alias
    deactivated: bool

    @property
    def names(self) -> list[str]:
        return [self.alias, self.name] if self.swapped else [self.name, self.alias]


@dataclass
class Project:
    id: str
    started_on: date
    moved_to: date | None
    ended_on: date | None
    partner_ids: list[str]

    @property
    def start(self) -> date:
        return self.moved_to or self.started_on


@dataclass
class Table:
    id: str
    formed_on: date
    dissolved_on: date | None
    members: list[tuple[str, date, date | None]]  # a cooperative's spans, in order
    actions: list[tuple[str, str, date, bool]]  # id, kind, performed_on, withdrawn
    placements: list[tuple[str, str, date, date | None]]  # id, retailer, started, ended


@dataclass
class World:
    year: FiscalYear
    cutoff: date
    coops: list[Coop]
    activities: list[Activity]
    ambassadors: list[Ambassador]
    partners: list[Partner]
    projects: list[Project]
    tables: list[Table]
    streams: list[list[Event]]
    interleaving: list[int]
    offsets: list[int]  # minutes east of UTC, one per envelope, for occurred_at's writing


# --- strategies -------------------------------------------------------------------------------


def later(dates_after: st.SearchStrategy[int], after: date) -> st.SearchStrategy[date]:
    return dates_after.map(lambda n: after + timedelta(days=n))


@st.composite
def period_lists(draw: st.DrawFn, dates: st.SearchStrategy[date]) -> list[tuple[date, date | None]]:
    start = draw(dates)
    periods: list[tuple[date, date | None]] = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 2)) == 0:
            periods.append((start, None))
            break
        end = draw(later(st.integers(1, 200), start))
        periods.append((start, end))
        if not draw(st.booleans()):
            break
        start = end + timedelta(days=draw(st.sampled_from([0, 0, 1, 30, 100])))
    return periods


def new_id(draw: st.DrawFn) -> str:
    """A fresh id (ids never decide a figure, so they need not be drawn)."""
    return str(uuid.uuid4())


@st.composite
def coops(draw: st.DrawFn, dates: st.SearchStrategy[date]) -> Coop:
    recorded = draw(period_lists(dates))
    corrections = draw(st.lists(period_lists(dates), max_size=2))
    final = corrections[-1] if corrections else recorded
    left_after = None
    if final[-1][1] is None and draw(st.booleans()):
        left_after = draw(later(st.integers(1, 200), final[-1][0]))
    changes = st.fixed_dictionaries(
        {},
        optional={
            "region": st.sampled_from(REGIONS),
            "sector": st.sampled_from(SECTORS),
            "worker_members": st.one_of(st.none(), st.integers(1, 40)),
        },
    ).filter(bool)
    return Coop(
        id=new_id(draw),
        region=draw(st.sampled_from(REGIONS)),
        sector=draw(st.sampled_from(SECTORS)),
        worker_members=draw(st.one_of(st.none(), st.integers(1, 40))),
        recorded=recorded,
        corrections=corrections,
        left_after=left_after,
        updates=draw(st.lists(changes, max_size=2)),
        void_steps=draw(st.sampled_from([0, 0, 0, 1, 2, 3])),
    )


@st.composite
def activities(draw: st.DrawFn, dates: st.SearchStrategy[date], coop_ids: list[str]) -> Activity:
    revision = st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(WEIGHTED_TYPES),
            "date": dates,
            "region": st.one_of(st.none(), st.sampled_from(REGIONS)),
            "partners": st.lists(st.sampled_from(ALL_SPELLINGS), max_size=3),
        },
    ).filter(bool)
    cancelled = draw(st.integers(0, 3)) == 0
    activity = Activity(
        id=new_id(draw),
        type=draw(st.sampled_from(WEIGHTED_TYPES)),
        on=draw(dates),
        region=draw(st.one_of(st.none(), st.sampled_from(REGIONS))),
        partners=draw(st.lists(st.sampled_from(ALL_SPELLINGS), max_size=4)),
        cancelled=cancelled,
        reinstated=cancelled and draw(st.booleans()),
        revisions=draw(st.lists(revision, max_size=2)),
    )
    optional_int = st.one_of(st.none(), st.integers(1, 6))
    for coop in draw(st.lists(st.sampled_from(coop_ids), unique=True, max_size=4)):
        withdrawn = draw(st.booleans())
        activity.attendance.append(
            Attendance(
                cooperative_id=coop,
                participants=draw(st.integers(1, 6)),
                corrected=draw(optional_int),
                withdrawn=withdrawn,
                recorded_again=draw(optional_int) if withdrawn else None,
            )
        )
    for _ in range(draw(st.integers(0, 3))):
        versioned = draw(st.booleans())
        activity.public.append(
            Public(
                record_id=new_id(draw) if versioned else None,
                count=draw(st.integers(1, 60)),
                region=draw(st.one_of(st.none(), st.sampled_from(REGIONS))),
                corrected=draw(
                    st.one_of(
                        st.none(),
                        st.tuples(
                            st.integers(1, 60), st.one_of(st.none(), st.sampled_from(REGIONS))
                        ),
                    )
                )
                if versioned
                else None,
                withdrawn=versioned and draw(st.integers(0, 3)) == 0,
            )
        )
    return activity


@st.composite
def ambassadors(draw: st.DrawFn, dates: st.SearchStrategy[date], coop_ids: list[str]) -> Ambassador:
    actions = []
    for _ in range(draw(st.integers(0, 3))):
        versioned = draw(st.booleans())
        actions.append(
            Action(
                action_id=new_id(draw) if versioned else None,
                performed_on=draw(dates),
                people=draw(st.one_of(st.none(), st.integers(0, 30))),
                corrected=draw(st.one_of(st.none(), st.tuples(dates, st.integers(0, 30))))
                if versioned
                else None,
                withdrawn=versioned and draw(st.integers(0, 3)) == 0,
            )
        )
    end = st.tuples(st.sampled_from(["retired", "deactivated"]), dates)
    ends: list[tuple[str, date | None]] = []
    for _ in range(draw(st.integers(0, 3))):
        ends.append(draw(end))
        if draw(st.booleans()):
            ends.append(("reactivated", None))
    return Ambassador(
        id=new_id(draw),
        cooperative_id=draw(st.sampled_from(coop_ids)),
        enrolled_on=draw(dates),
        corrected_enrolment=draw(st.one_of(st.none(), dates)),
        ends=ends,
        actions=actions,
    )


@st.composite
def partnerships(
    draw: st.DrawFn, dates: st.SearchStrategy[date], coop_ids: list[str]
) -> tuple[list[Partner], list[Project], list[Table]]:
    chosen = draw(st.lists(st.sampled_from(DIRECTORY_NAMES), unique=True))
    partners = [
        Partner(
            id=new_id(draw),
            name=name,
            alias=alias,
            kind=draw(st.sampled_from(PARTNER_KINDS)),
            swapped=draw(st.booleans()),
            deactivated=draw(st.booleans()),
        )
        for name, alias in chosen
    ]
    partner_ids = [p.id for p in partners] + [new_id(draw)]
    projects = [
        Project(
            id=new_id(draw),
            started_on=start,
            moved_to=draw(st.one_of(st.none(), dates)),
            ended_on=draw(st.one_of(st.none(), later(st.integers(0, 300), start))),
            partner_ids=draw(st.lists(st.sampled_from(partner_ids), min_size=1, max_size=2)),
        )
        for start in draw(st.lists(dates, max_size=3))
    ]
    tables = []
    for formed_on in draw(st.lists(dates, max_size=2)):
        members: list[tuple[str, date, date | None]] = []
        for coop in draw(st.lists(st.sampled_from(coop_ids), unique=True, max_size=3)):
            joined = draw(later(st.integers(0, 200), formed_on))
            for _ in range(draw(st.integers(1, 2))):
                left = draw(st.one_of(st.none(), later(st.integers(1, 200), joined)))
                members.append((coop, joined, left))
                if left is None:
                    break
                joined = left + timedelta(days=draw(st.sampled_from([0, 5])))
        actions = [
            (new_id(draw), kind, on, withdrawn)
            for kind, on, withdrawn in draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(TABLE_ACTION_KINDS),
                        dates,
                        st.integers(0, 3).map(lambda n: n == 0),
                    ),
                    max_size=4,
                )
            )
        ]
        placements: list[tuple[str, str, date, date | None]] = []
        for _ in range(draw(st.integers(0, 3))):
            started = draw(dates)
            ended = draw(st.one_of(st.none(), later(st.integers(1, 300), started)))
            placements.append((new_id(draw), draw(st.sampled_from(partner_ids)), started, ended))
        dissolved = draw(st.one_of(st.none(), later(st.integers(1, 400), formed_on)))
        tables.append(Table(new_id(draw), formed_on, dissolved, members, actions, placements))
    return partners, projects, tables


@st.composite
def worlds(draw: st.DrawFn) -> World:
    year = FiscalYear(2023, draw(st.sampled_from([YearStart(9, 1), YearStart(1, 1)])))
    as_of = draw(st.one_of(st.none(), st.integers(0, 400)))
    cutoff = year.cutoff(None if as_of is None else year.start + timedelta(days=as_of))
    day = timedelta(days=1)
    base = year.start - timedelta(days=120)
    edges = [year.start - day, year.start, cutoff - day, cutoff, cutoff + day]
    dates = st.one_of(
        st.sampled_from(edges), st.integers(0, SPAN_DAYS).map(lambda n: base + timedelta(days=n))
    )
    cooperatives = draw(st.lists(coops(dates), max_size=6))
    coop_ids = [c.id for c in cooperatives] + [str(uuid.uuid4())]
    acts = draw(st.lists(activities(dates, coop_ids), max_size=6))
    people = draw(st.lists(ambassadors(dates, coop_ids), max_size=4))
    partners, projects, tables = draw(partnerships(dates, coop_ids))
    streams = [
        membership_stream(cooperatives),
        events_stream(acts),
        ambassadors_stream(people),
        partnerships_stream(partners, projects, tables),
    ]
    rng = random.Random(draw(st.integers(0, 2**32)))
    interleaving = [i for i, s in enumerate(streams) for _ in s]
    rng.shuffle(interleaving)
    offsets = [rng.choice([0, 0, -300, 330, 60]) for _ in interleaving]
    return World(
        year,
        cutoff,
        cooperatives,
        acts,
        people,
        partners,
        projects,
        tables,
        streams,
        interleaving,
        offsets,
    )


# --- the streams ------------------------------------------------------------------------------


def iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def membership_stream(cooperatives: list[Coop]) -> list[Event]:
    stream: list[Event] = []
    for c in cooperatives:
        cid = c.id
        for number, (start, end) in enumerate(c.recorded):
            if number == 0:
                data: dict[str, Any] = {
                    "cooperative_id": cid,
                    "name": "Coop",
                    "region": c.region,
                    "sector": c.sector,
                    "worker_members": c.worker_members,
                    "joined_on": iso(start),
                    "neq": None,
                }
                stream.append(("CoopJoined", cid, data))
            else:
                stream.append(
                    ("CoopRejoined", cid, {"cooperative_id": cid, "rejoined_on": iso(start)})
                )
            if end is not None:
                data = {"cooperative_id": cid, "left_on": iso(end), "reason": None}
                stream.append(("CoopLeft", cid, data))
        for changes in c.updates:
            stream.append(("CoopProfileUpdated", cid, {"cooperative_id": cid, "changes": changes}))
        for periods in c.corrections:
            data = {
                "cooperative_id": cid,
                "periods": [{"start": iso(s), "end": iso(e)} for s, e in periods],
                "reason": "Saisie tardive",
            }
            stream.append(("CoopMembershipCorrected", cid, data))
        if c.left_after is not None:
            data = {"cooperative_id": cid, "left_on": iso(c.left_after), "reason": None}
            stream.append(("CoopLeft", cid, data))
        for step in range(c.void_steps):
            kind = "CoopVoided" if step % 2 == 0 else "CoopRestored"
            stream.append((kind, cid, {"cooperative_id": cid, "reason": "Doublon"}))
    return stream


def events_stream(acts: list[Activity]) -> list[Event]:
    stream: list[Event] = []
    for a in acts:
        aid = a.id
        data: dict[str, Any] = {
            "activity_id": aid,
            "type": a.type,
            "title": "Activité",
            "date": iso(a.on),
            "format": "in_person",
            "region": a.region,
            "partners": a.partners,
        }
        stream.append(("ActivityScheduled", aid, data))
        for record in a.attendance:
            told = {"activity_type": a.type, "activity_date": iso(a.on)}
            attended = {"activity_id": aid, "cooperative_id": record.cooperative_id}
            stream.append(
                ("ActivityAttended", aid, {**attended, "participants": record.participants, **told})
            )
        if a.cancelled:
            stream.append(("ActivityCancelled", aid, {"activity_id": aid, "reason": None}))
        for changes in a.revisions:
            written = {k: iso(v) if k == "date" else v for k, v in changes.items()}
            stream.append(("ActivityRevised", aid, {"activity_id": aid, "changes": written}))
        for record in a.attendance:
            key = {"activity_id": aid, "cooperative_id": record.cooperative_id, "reason": None}
            if record.corrected is not None:
                stream.append(
                    ("AttendanceCorrected", aid, {**key, "participants": record.corrected})
                )
            if record.withdrawn:
                stream.append(("AttendanceWithdrawn", aid, key))
                if record.recorded_again is not None:
                    data = {
                        "activity_id": aid,
                        "cooperative_id": record.cooperative_id,
                        "participants": record.recorded_again,
                        "activity_type": a.current()["type"],
                        "activity_date": iso(a.current()["date"]),
                    }
                    stream.append(("ActivityAttended", aid, data))
        for public in a.public:
            data = {"activity_id": aid, "count": public.count, "region": public.region}
            if public.record_id is not None:
                data["record_id"] = public.record_id
            stream.append(("PublicAttendanceRecorded", aid, data))
            key = {"activity_id": aid, "record_id": public.record_id, "reason": None}
            if public.corrected is not None:
                count, region = public.corrected
                stream.append(
                    ("PublicAttendanceCorrected", aid, {**key, "count": count, "region": region})
                )
            if public.withdrawn:
                stream.append(("PublicAttendanceWithdrawn", aid, key))
        if a.reinstated:
            stream.append(("ActivityReinstated", aid, {"activity_id": aid, "reason": None}))
    return stream


def ambassadors_stream(people: list[Ambassador]) -> list[Event]:
    stream: list[Event] = []
    for m in people:
        mid = m.id
        data: dict[str, Any] = {
            "ambassador_id": mid,
            "cooperative_id": m.cooperative_id,
            "enrolled_on": iso(m.enrolled_on),
        }
        stream.append(("AmbassadorEnrolled", mid, data))
        for action in m.actions:
            data = {
                "ambassador_id": mid,
                "kind": "presentation",
                "performed_on": iso(action.performed_on),
                "activity_id": None,
                "people_reached": action.people,
            }
            if action.action_id is not None:
                data["action_id"] = action.action_id
            stream.append(("AmbassadorActionLogged", mid, data))
            if action.corrected is not None:
                corrected_on, people_reached = action.corrected
                data = {
                    "ambassador_id": mid,
                    "action_id": action.action_id,
                    "kind": "kiosque",
                    "performed_on": iso(corrected_on),
                    "activity_id": None,
                    "people_reached": people_reached,
                    "reason": None,
                }
                stream.append(("AmbassadorActionCorrected", mid, data))
            if action.withdrawn:
                key = {"ambassador_id": mid, "action_id": action.action_id, "reason": None}
                stream.append(("AmbassadorActionWithdrawn", mid, key))
        if m.corrected_enrolment is not None:
            data = {"ambassador_id": mid, "enrolled_on": iso(m.corrected_enrolment), "reason": None}
            stream.append(("AmbassadorEnrollmentCorrected", mid, data))
        for kind, on in m.ends:
            if kind == "retired":
                stream.append(
                    ("AmbassadorRetired", mid, {"ambassador_id": mid, "retired_on": iso(on)})
                )
            elif kind == "deactivated":
                data = {"ambassador_id": mid, "effective_on": iso(on), "reason": "cooperative-left"}
                stream.append(("AmbassadorDeactivated", mid, data))
            else:
                data = {"ambassador_id": mid, "reason": "membership-corrected"}
                stream.append(("AmbassadorReactivated", mid, data))
    return stream


def partnerships_stream(
    partners: list[Partner], projects: list[Project], tables: list[Table]
) -> list[Event]:
    stream: list[Event] = []
    for p in partners:
        data: dict[str, Any] = {
            "partner_id": p.id,
            "name": p.name,
            "kind": "autre",
            "region": None,
            "aliases": [p.alias],
            "website": None,
        }
        stream.append(("PartnerRegistered", p.id, data))
        changes: dict[str, Any] = {"kind": p.kind}
        if p.swapped:
            changes.update(name=p.alias, aliases=[p.name])
        stream.append(("PartnerUpdated", p.id, {"partner_id": p.id, "changes": changes}))
        if p.deactivated:
            stream.append(("PartnerDeactivated", p.id, {"partner_id": p.id}))
    for r in projects:
        data = {
            "project_id": r.id,
            "title": "Recherche",
            "theme": None,
            "partner_ids": r.partner_ids,
            "started_on": iso(r.started_on),
        }
        stream.append(("ResearchProjectStarted", r.id, data))
        if r.moved_to is not None:
            changes = {"started_on": iso(r.moved_to)}
            stream.append(
                ("ResearchProjectUpdated", r.id, {"project_id": r.id, "changes": changes})
            )
        if r.ended_on is not None:
            data = {"project_id": r.id, "ended_on": iso(r.ended_on)}
            stream.append(("ResearchProjectCompleted", r.id, data))
    for t in tables:
        tid = t.id
        formed = {
            "table_id": tid,
            "name": "Table",
            "sector": "microbrasserie",
            "formed_on": iso(t.formed_on),
        }
        stream.append(("SectorTableFormed", tid, formed))
        stream.append(("SectorTableRenamed", tid, {"table_id": tid, "name": "Table sectorielle"}))
        for coop, joined, left in t.members:
            data = {"table_id": tid, "cooperative_id": coop, "joined_on": iso(joined)}
            stream.append(("SectorTableMemberAdded", tid, data))
            if left is not None:
                data = {"table_id": tid, "cooperative_id": coop, "left_on": iso(left)}
                stream.append(("SectorTableMemberRemoved", tid, data))
        for action_id, kind, on, withdrawn in t.actions:
            data = {
                "table_id": tid,
                "action_id": action_id,
                "kind": kind,
                "title": "Action",
                "performed_on": iso(on),
                "partner_ids": [],
            }
            stream.append(("SectorTableActionLogged", tid, data))
            if withdrawn:
                data = {"table_id": tid, "action_id": action_id, "reason": None}
                stream.append(("SectorTableActionWithdrawn", tid, data))
        for placement_id, retailer, started, ended in t.placements:
            data = {
                "table_id": tid,
                "placement_id": placement_id,
                "retailer_id": retailer,
                "started_on": iso(started),
                "note": None,
            }
            stream.append(("RetailPlacementSecured", tid, data))
            if ended is not None:
                data = {
                    "table_id": tid,
                    "placement_id": placement_id,
                    "retailer_id": retailer,
                    "ended_on": iso(ended),
                }
                stream.append(("RetailPlacementEnded", tid, data))
        if t.dissolved_on is not None:
            data = {"table_id": tid, "dissolved_on": iso(t.dissolved_on)}
            stream.append(("SectorTableDissolved", tid, data))
    return stream


BASE_INSTANT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def instant_of(number: int) -> datetime:
    """When the envelope at this position was recorded (a few milliseconds apart)."""
    return BASE_INSTANT + timedelta(milliseconds=3 * number, microseconds=number % 7)


def envelopes(world: World) -> list[dict[str, Any]]:
    """Every stream's envelopes, each in order, interleaved as drawn, recorded in that order.

    ``occurred_at`` is written with the drawn offset (RFC 3339 allows any): the same instant.
    """
    positions = [iter(stream) for stream in world.streams]
    versions: dict[str, int] = {}
    items = []
    for number, stream in enumerate(world.interleaving):
        event_type, aggregate_id, data = next(positions[stream])
        versions[aggregate_id] = versions.get(aggregate_id, 0) + 1
        zone = timezone(timedelta(minutes=world.offsets[number]))
        items.append(
            {
                "event_id": str(uuid.UUID(int=number + 1)),
                "event_type": event_type,
                "schema_version": 1,
                "aggregate_id": aggregate_id,
                "aggregate_version": versions[aggregate_id],
                "occurred_at": instant_of(number).astimezone(zone).isoformat(),
                "correlation_id": str(uuid.UUID(int=number + 1)),
                "causation_id": None,
                "data": data,
            }
        )
    return items


# --- the definitions, read plainly ------------------------------------------------------------


def expected_indicators(w: World) -> dict[str, Any]:
    s, c = w.year.start, w.cutoff

    def in_year(day: date | None) -> bool:
        return day is not None and s <= day <= c

    counting = [coop for coop in w.coops if not coop.voided]
    voided = {coop.id for coop in w.coops if coop.voided}
    active = [coop for coop in counting if coop.active_on(c)]
    active_ids = {coop.id for coop in active}
    starts = [start for coop in counting for start, _ in coop.periods]
    ends = [end for coop in counting for _, end in coop.periods]

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

    counted = [a for a in w.activities if a.counted and in_year(a.current()["date"])]

    def records(a: Activity) -> dict[str, int]:
        found = {r.cooperative_id: r.final for r in a.attendance}
        return {coop: n for coop, n in found.items() if n is not None and coop not in voided}

    def of_type(activity_type: str) -> list[Activity]:
        return [a for a in counted if a.current()["type"] == activity_type]

    def participating(acts: list[Activity]) -> set[str]:
        return {coop for a in acts for coop in records(a) if coop in active_ids}

    def publics(acts: list[Activity]) -> list[tuple[Activity, int, str | None]]:
        return [(a, *p.final) for a in acts for p in a.public if p.final is not None]

    def public_regions(acts: list[Activity]) -> int:
        return len({region or a.current()["region"] for a, _, region in publics(acts)} - {None})

    total = len(active)
    rate = (
        0.0
        if total == 0
        else float(Fraction(round(Fraction(len(participating(counted)), total) * 10_000), 10_000))
    )
    cine = of_type("cine_discussion")
    parcours = of_type("parcours_coop")

    directory = {normalized_name(name): p for p in w.partners for name in p.names}
    identities: dict[str, str] = {}
    for a in cine:
        for name in a.current()["partners"]:
            key = normalized_name(name)
            partner = directory.get(key)
            if partner is not None:
                identities[partner.id] = partner.kind
            elif key:
                identities["name:" + key] = NOT_IN_DIRECTORY
    partners_by_kind = {kind: 0 for kind in (*PARTNER_KINDS, NOT_IN_DIRECTORY)}
    for kind in identities.values():
        partners_by_kind[kind] += 1

    ambassadors = [m for m in w.ambassadors if m.cooperative_id not in voided]
    actions = [
        (m.id, *(x.corrected or (x.performed_on, x.people)))
        for m in ambassadors
        for x in m.actions
        if not x.withdrawn
    ]
    actions = [(who, on, people) for who, on, people in actions if in_year(on)]

    projects = [p for p in w.projects if p.start <= c and (p.ended_on is None or p.ended_on >= s)]
    tables = [
        t for t in w.tables if t.formed_on <= c and (t.dissolved_on is None or t.dissolved_on > c)
    ]
    table_actions = [
        kind
        for t in w.tables
        for _, kind, on, withdrawn in t.actions
        if not withdrawn and in_year(on)
    ]
    return {
        "members.total": total,
        "members.joined": sum(1 for start in starts if in_year(start)),
        "members.left": sum(1 for end in ends if in_year(end)),
        "members.joined_by_month": joined_by_month,
        "members.by_region": by_region,
        "members.by_sector": dict(sorted(by_sector.items())),
        "members.worker_members": sum(coop.profile()["worker_members"] or 0 for coop in active),
        "participation.participating_members": len(participating(counted)),
        "participation.rate": rate,
        "participation.by_activity_type": {
            t: len(participating(of_type(t))) for t in ACTIVITY_TYPES
        },
        "activities.total": len(counted),
        "activities.by_type": {t: len(of_type(t)) for t in ACTIVITY_TYPES},
        "attendance.member_attendances": sum(len(records(a)) for a in counted),
        "attendance.participants": sum(sum(records(a).values()) for a in counted),
        "outreach.cine_discussions": len(cine),
        "outreach.people_reached": sum(n for _, n, _ in publics(cine)),
        "outreach.regions": public_regions(cine),
        "outreach.partners": len(identities),
        "outreach.partners_by_kind": partners_by_kind,
        "parcours.sessions": len(parcours),
        "parcours.participants": sum(n for _, n, _ in publics(parcours)),
        "parcours.regions": public_regions(parcours),
        "ambassadors.mobilized": len({who for who, _, _ in actions}),
        "ambassadors.actions": len(actions),
        "ambassadors.people_reached": sum(people or 0 for _, _, people in actions),
        "ambassadors.active": sum(
            1 for m in ambassadors if m.enrolment <= c and (m.ended_on is None or m.ended_on > c)
        ),
        "research.projects": len(projects),
        "research.partners": len({i for p in projects for i in p.partner_ids}),
        "sector_tables.active": len(tables),
        "sector_tables.member_cooperatives": len(
            {
                coop
                for t in tables
                for coop, joined, left in t.members
                if coop in active_ids and joined <= c and (left is None or left > c)
            }
        ),
        "sector_tables.actions": len(table_actions),
        "sector_tables.actions_by_kind": {
            kind: table_actions.count(kind) for kind in TABLE_ACTION_KINDS
        },
        "sector_tables.retailers": len(
            {
                retailer
                for t in w.tables
                for _, retailer, started, ended in t.placements
                if started <= c and (ended is None or ended > c)
            }
        ),
    }


# --- the properties ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        create_schema(conn)
    yield engine
    engine.dispose()


_generations = itertools.count(1)
_settings = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def batches(items: list[dict[str, Any]], cuts: random.Random) -> Iterator[list[dict[str, Any]]]:
    start = 0
    while start < len(items):
        size = cuts.choice([1, 2, 5, 40, len(items)])
        yield items[start : start + size]
        start += size


def projected(engine: sa.Engine, items: list[dict[str, Any]], cuts: random.Random) -> int:
    generation = next(_generations)
    with engine.begin() as conn:
        for batch in batches(items, cuts):
            apply_events(conn, generation, batch)
    return generation


def dropped(engine: sa.Engine, *generations: int) -> None:
    with engine.begin() as conn:
        for generation in generations:
            drop_generation(conn, generation)


@_settings
@given(world=worlds(), cuts=st.randoms(use_true_random=False))
def test_indicators_count_the_records_as_corrected_and_the_partnerships(
    engine: sa.Engine, world: World, cuts: random.Random
) -> None:
    generation = projected(engine, envelopes(world), cuts)
    try:
        with engine.connect() as conn:
            computed = compute_indicators(conn, generation, world.year, world.cutoff)
    finally:
        dropped(engine, generation)

    assert computed == expected_indicators(world)


@_settings
@given(world=worlds(), cuts=st.randoms(use_true_random=False), noted=st.floats(0, 1))
def test_figures_as_recorded_at_an_instant_equal_the_figures_of_what_was_recorded_by_then(
    engine: sa.Engine, world: World, cuts: random.Random, noted: float
) -> None:
    items = envelopes(world)
    known = int(noted * len(items))  # the envelopes recorded at or before the noted instant
    instant = instant_of(known - 1) if known else BASE_INSTANT - timedelta(microseconds=1)
    # The instant written in another offset: the same moment.
    instant = instant.astimezone(timezone(timedelta(hours=-5)))
    everything = projected(engine, items, cuts)
    then = projected(engine, items[:known], cuts)
    try:
        with engine.connect() as conn:
            as_recorded = compute_indicators(
                conn, everything, world.year, world.cutoff, as_recorded=instant
            )
            at_the_time = compute_indicators(conn, then, world.year, world.cutoff)
            now = compute_indicators(
                conn, everything, world.year, world.cutoff, as_recorded=datetime.now(UTC)
            )
            plain = compute_indicators(conn, everything, world.year, world.cutoff)
    finally:
        dropped(engine, everything, then)

    assert as_recorded == at_the_time
    assert now == plain


def every_latest_version(
    conn: sa.Connection, generation: int, year: FiscalYear, cutoff: date, instant: str
) -> dict[str, object]:
    """The figures from every fact row's latest version recorded at or before the instant, read
    from the whole history and copied whole into a model of their own: what the faster
    reading of the current facts and the history since the instant must answer."""
    rows = facts_as_recorded(conn, generation, instant)
    totals: dict[str, list[int]] = {}
    for attendance in rows[attendances.name]:
        if not attendance["withdrawn"]:
            total = totals.setdefault(attendance["activity_id"], [0, 0])
            total[0] += 1
            total[1] += attendance["participants"]
    for activity in rows[fact_model.activities.name]:
        activity["member_attendances"], activity["participants"] = totals.get(
            activity["activity_id"], (0, 0)
        )
    rows[activity_partners.name] = [
        {"generation": generation, "activity_id": activity["activity_id"], **names}
        for activity in rows[fact_model.activities.name]
        for names in _partner_rows(activity["partners"])
    ]
    memory = sa.create_engine("sqlite://")
    try:
        with memory.begin() as copy:
            for table in FACT_TABLES:
                table.create(copy)
                if rows.get(table.name):
                    copy.execute(sa.insert(table), rows[table.name])
            return compute_indicators(copy, generation, year, cutoff)
    finally:
        memory.dispose()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    world=worlds(),
    cuts=st.randoms(use_true_random=False),
    order=st.randoms(use_true_random=False),
    noted=st.floats(0, 1),
)
def test_figures_as_recorded_equal_every_rows_latest_version_then_whatever_the_instants_order(
    engine: sa.Engine, world: World, cuts: random.Random, order: random.Random, noted: float
) -> None:
    items = envelopes(world)
    # Streams recorded at instants out of their order of arrival (another stream's clock, a
    # late delivery): the history's order is not the order of the instants.
    stamps = [item["occurred_at"] for item in items]
    order.shuffle(stamps)
    for item, stamp in zip(items, stamps, strict=True):
        item["occurred_at"] = stamp
    noted_ones = [recorded_at_text(BASE_INSTANT), *sorted(map(parse_recorded_at, stamps))]
    chosen = noted_ones[min(int(noted * len(noted_ones)), len(noted_ones) - 1)]
    generation = projected(engine, items, cuts)
    try:
        with engine.connect() as conn:
            noted_at = datetime.fromisoformat(chosen)
            for moment in (noted_at, noted_at - timedelta(microseconds=1)):
                instant = recorded_at_text(moment)
                assert compute_indicators(
                    conn, generation, world.year, world.cutoff, as_recorded=moment
                ) == every_latest_version(conn, generation, world.year, world.cutoff, instant)
    finally:
        dropped(engine, generation)


def rows_of(conn: sa.Connection, generation: int) -> dict[str, list[Any]]:
    """Every fact row of a generation (generation left out), and per table every version its
    history holds, in the order they were made (however the batches grouped them)."""
    found: dict[str, list[Any]] = {}
    for table in FACT_TABLES:
        columns = [c for c in table.c if c.name != "generation"]
        query = sa.select(*columns).where(table.c.generation == generation)
        found[table.name] = sorted(repr(tuple(row)) for row in conn.execute(query))
    h = history.c
    query = (
        sa.select(h.table_name, h.versions).where(h.generation == generation).order_by(h.history_id)
    )
    for table_name, versions in conn.execute(query):
        found.setdefault(f"history of {table_name}", []).extend(json.loads(versions))
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds(), cuts=st.randoms(use_true_random=False))
def test_a_rebuild_gives_identical_facts_history_and_figures_however_it_is_batched(
    engine: sa.Engine, world: World, cuts: random.Random
) -> None:
    items = envelopes(world)
    one_by_one = next(_generations)
    with engine.begin() as conn:
        for envelope in items:
            apply_event(conn, one_by_one, envelope)
    rebuilt = projected(engine, items, cuts)
    try:
        with engine.connect() as conn:
            assert rows_of(conn, rebuilt) == rows_of(conn, one_by_one)
            figures = [
                compute_indicators(conn, g, world.year, world.cutoff) for g in (one_by_one, rebuilt)
            ]
    finally:
        dropped(engine, one_by_one, rebuilt)

    assert figures[0] == figures[1]
