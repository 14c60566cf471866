"""A bounded, seeded load over the services' HTTP APIs, and a ledger of what they accepted.

`plan_load(seed)` decides every command before the first request: cooperatives that join,
leave and come back, profile changes, activities of every type (a few cancelled, a few
outside the fiscal year), attendances (some sent twice), public attendance, ambassadors with
their actions, retirements, and a departure whose policy deactivates ambassadors; with
`partnerships=True`, also partners (some named as the activities name them, one changed, one
deactivated), research projects (some completed), sector tables with members who join and
leave, actions (one withdrawn), retail placements opened and ended, and a dissolution. Every
command is valid when its dependencies have been accepted, so each one must end in a 2xx.

`Loader` sends the plan in order, each POST with its own `Idempotency-Key`. A connection
error (a service killed or restarting) is retried with the same key (a DELETE retried after
one may find its record already gone: that 404 is its first answer, lost); a 422
`cooperative-not-member` (the service's membership view not caught up yet) is retried later
while other commands go on. Any other answer is an anomaly. The `Ledger` keeps only what was
accepted, as the answers told it: it is the reference the reporting figures are compared with.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from services.events.domain import ACTIVITY_TYPES
from shared.fields import REGION_CODES as REGIONS
from tests.support import TOKEN

FISCAL_YEAR = "2023-2024"
YEAR_START = date(2023, 9, 1)
YEAR_END = date(2024, 8, 31)

SECTORS = (
    "microbrasserie",
    "alimentation",
    "informatique",
    "fabrication",
    "arts_culture",
    "design",
)
PARTNERS = (
    "Pôle d'économie sociale du Bas-Saint-Laurent",
    "  pôle d'économie sociale du bas-saint-laurent ",
    "Cinéma Paraloeil",
    "CINÉMA PARALOEIL",
    "Conseil québécois de la coopération et de la mutualité",
    "Agent.e.s jeunesse du CQCM",
)
ACTION_KINDS = ("cine_discussion", "presentation", "kiosque", "mentorat", "autre")
NOT_MEMBER = "/cooperative-not-member"


@dataclass(frozen=True)
class Ref:
    """A resource of the plan, known by its name until the server gives it an id."""

    name: str


@dataclass
class Step:
    """One command of the plan."""

    name: str
    kind: str
    target: Ref | None
    body: dict[str, Any]
    needs: tuple[str, ...] = ()
    creates: Ref | None = None
    sub: Ref | None = None
    """A sub-record the path names after the target (a placement, a table's member)."""

    @property
    def service(self) -> str:
        """The service that handles the command."""
        if self.kind in ("join", "update", "leave", "rejoin"):
            return "membership"
        if self.kind in ("enroll", "act", "retire"):
            return "ambassadors"
        if self.kind in PARTNERSHIP_KINDS:
            return "partnerships"
        return "events"


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _member_on(periods: list[tuple[date, date | None]], day: date) -> bool:
    return any(start <= day and (end is None or day < end) for start, end in periods)


class _Planner:
    """Builds the steps, keeping the membership periods the plan itself implies."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.steps: list[Step] = []
        self.periods: dict[str, list[tuple[date, date | None]]] = {}
        self.membership_steps: dict[str, list[tuple[date, str]]] = {}

    def add(self, kind: str, target: Ref | None, body: dict[str, Any], *needs: str) -> Step:
        step = Step(f"{kind}-{len(self.steps)}", kind, target, body, tuple(needs))
        self.steps.append(step)
        return step

    def join(self, number: int, joined_on: date) -> Ref:
        coop = Ref(f"coop-{number}")
        body: dict[str, Any] = {
            "name": f"Coopérative de travail d'essai {number}",
            "region": self.rng.choice(REGIONS),
            "sector": self.rng.choice(SECTORS),
            "worker_members": self.rng.randint(1, 40),
            "joined_on": joined_on.isoformat(),
        }
        if number % 3:
            body["neq"] = f"88{number:08d}"
        step = self.add("join", None, body)
        step.creates = coop
        self.periods[coop.name] = [(joined_on, None)]
        self.membership_steps[coop.name] = [(joined_on, step.name)]
        return coop

    def leave(self, coop: Ref, left_on: date, *needs: str) -> str:
        start, _ = self.periods[coop.name][-1]
        self.periods[coop.name][-1] = (start, left_on)
        joined = self.membership_steps[coop.name][0][1]
        return self.add("leave", coop, {"left_on": left_on.isoformat()}, joined, *needs).name

    def rejoin(self, coop: Ref, rejoined_on: date, after: str) -> None:
        self.periods[coop.name].append((rejoined_on, None))
        step = self.add("rejoin", coop, {"rejoined_on": rejoined_on.isoformat()}, after)
        self.membership_steps[coop.name].append((rejoined_on, step.name))

    def membership_needs(self, coop: Ref, day: date) -> str:
        """The step that made the cooperative a member on `day`."""
        return max((d, s) for d, s in self.membership_steps[coop.name] if d <= day)[1]


def plan_load(seed: int, *, scale: int = 1, partnerships: bool = False) -> list[Step]:
    """A few hundred commands per `scale`, in a random order that respects dependencies.

    The same seed plans the same v1 commands with or without `partnerships`.
    """
    p = _Planner(seed)
    rng = p.rng
    veterans = [
        p.join(n, _day(rng, date(2010, 1, 1), date(2023, 8, 31))) for n in range(24 * scale)
    ]
    newcomers = [
        p.join(len(veterans) + n, _day(rng, YEAR_START, date(2024, 6, 30)))
        for n in range(12 * scale)
    ]
    coops = veterans + newcomers
    steady = veterans[: 12 * scale]
    leavers = veterans[12 * scale : 18 * scale]
    policy_coop = veterans[18 * scale]
    policy_left_on = _day(rng, date(2024, 1, 15), date(2024, 7, 31))
    p.periods[policy_coop.name][-1] = (p.periods[policy_coop.name][-1][0], policy_left_on)

    for index, coop in enumerate(leavers):
        first = max(p.periods[coop.name][0][0] + timedelta(days=1), date(2022, 9, 1))
        if index == 0 and first <= date(2023, 8, 31):
            p.leave(coop, _day(rng, first, date(2023, 8, 31)))  # before the fiscal year
            continue
        left_on = _day(rng, date(2023, 9, 15), date(2024, 5, 31))
        left = p.leave(coop, left_on)
        if index % 3 == 1:
            p.rejoin(coop, _day(rng, left_on + timedelta(days=15), date(2024, 8, 20)), left)
    for coop in newcomers[: 2 * scale]:
        joined_on = p.periods[coop.name][0][0]
        p.leave(coop, min(joined_on + timedelta(days=rng.randint(20, 60)), YEAR_END))
    for coop in rng.sample(coops, 4 * scale):
        change: dict[str, Any] = {"worker_members": rng.randint(41, 60)}
        if rng.random() < 0.5:
            change["region"] = rng.choice(REGIONS)
        else:
            change["sector"] = rng.choice([*SECTORS, "transport"])
        p.add("update", coop, change, p.membership_steps[coop.name][0][1])

    activities: list[tuple[Ref, str, date]] = []
    for number in range(16 * scale):
        kind = ACTIVITY_TYPES[number % len(ACTIVITY_TYPES)]
        held_on = (
            _day(rng, date(2022, 9, 1), date(2023, 8, 31))
            if number in (3, 12)
            else _day(rng, YEAR_START, YEAR_END)
        )
        remote = kind == "parcours_coop" or rng.random() < 0.2
        body: dict[str, Any] = {
            "type": kind,
            "title": f"{kind} d'essai {number}",
            "date": held_on.isoformat(),
            "format": "remote" if remote else rng.choice(("in_person", "hybrid")),
        }
        if not remote or rng.random() < 0.3:
            body["region"] = rng.choice(REGIONS)
        if kind == "cine_discussion" or rng.random() < 0.2:
            body["partners"] = rng.sample(PARTNERS, rng.randint(1, 3))
        step = p.add("schedule", None, body)
        step.creates = Ref(f"activity-{number}")
        activities.append((step.creates, step.name, held_on))

    per_activity: dict[str, list[str]] = {}
    attended: list[Step] = []
    for activity, scheduled, held_on in activities:
        members = [c for c in coops if _member_on(p.periods[c.name], held_on)]
        for coop in rng.sample(members, min(len(members), rng.randint(3, 9))):
            body = {"cooperative_id": coop}
            if rng.random() < 0.8:
                body["participants"] = rng.randint(1, 8)
            step = p.add("attend", activity, body, scheduled, p.membership_needs(coop, held_on))
            attended.append(step)
            per_activity.setdefault(activity.name, []).append(step.name)
        kind = p.steps[int(scheduled.split("-")[1])].body["type"]
        if kind in ("cine_discussion", "parcours_coop") or rng.random() < 0.2:
            for _ in range(rng.randint(1, 3)):
                body = {"count": rng.randint(3, 90)}
                if rng.random() < 0.6:
                    body["region"] = rng.choice(REGIONS)
                step = p.add("public", activity, body, scheduled)
                per_activity.setdefault(activity.name, []).append(step.name)
    for original in rng.sample(attended, 4 * scale):
        assert original.target is not None
        again = p.add("attend", original.target, dict(original.body), original.name)
        per_activity[original.target.name].append(again.name)
    for activity, scheduled, _ in rng.sample(activities, 2 * scale):
        p.add("cancel", activity, {"reason": "tempête"}, scheduled, *per_activity[activity.name])

    hosts = [*rng.sample(steady, 10 * scale), policy_coop, policy_coop]
    policy_needs: list[str] = []
    for number, coop in enumerate(hosts):
        joined_on = p.periods[coop.name][0][0]
        latest = policy_left_on - timedelta(days=1) if coop == policy_coop else date(2024, 4, 30)
        enrolled_on = _day(rng, max(joined_on, date(2023, 3, 1)), latest)
        body = {
            "cooperative_id": coop,
            "name": f"Ambassadeur.rice d'essai {number}",
            "email": f"essai{number}@exemple.coop",
            "enrolled_on": enrolled_on.isoformat(),
        }
        enroll = p.add("enroll", None, body, p.membership_needs(coop, enrolled_on))
        ambassador = enroll.creates = Ref(f"ambassador-{number}")
        actions = []
        last = latest if coop == policy_coop else YEAR_END
        for _ in range(rng.randint(0, 4)):
            action: dict[str, Any] = {
                "kind": rng.choice(ACTION_KINDS),
                "performed_on": _day(rng, enrolled_on, last).isoformat(),
            }
            if rng.random() < 0.8:
                action["people_reached"] = rng.randint(0, 60)
            actions.append(p.add("act", ambassador, action, enroll.name).name)
        if coop == policy_coop:
            policy_needs += [enroll.name, *actions]
        elif number < 2 * scale:
            retired_on = _day(rng, enrolled_on + timedelta(days=1), YEAR_END + timedelta(days=30))
            p.add(
                "retire", ambassador, {"retired_on": retired_on.isoformat()}, enroll.name, *actions
            )
    p.leave(policy_coop, policy_left_on, *policy_needs)  # its ambassadors are deactivated
    if partnerships:
        _plan_partnerships(p, coops, scale)
    return _interleave(p.steps, rng)


TABLE_ACTION_KINDS = ("visibilite", "representation", "mutualisation", "autre")


def _plan_partnerships(p: _Planner, coops: list[Ref], scale: int) -> None:
    """Partners, research projects and sector tables (contract §12) over the plan's members."""
    rng = p.rng

    def partner(name: str, kind: str, **extra: Any) -> Step:
        step = p.add("partner", None, {"name": name, "kind": kind, **extra})
        step.creates = Ref(f"partner-{len(p.steps)}")
        return step

    # Named as the activities name them: one partner under two spellings, two under one.
    pole = partner("Pôle d’économie  sociale du Bas\u2011Saint\u2011Laurent", "economie_sociale",
                   region="01")  # fmt: skip
    cqcm = partner("Conseil québécois de la coopération et de la mutualité", "autre",
                   aliases=["Agent.e.s jeunesse du CQCM", "CQCM"])  # fmt: skip
    p.add("partner_update", cqcm.creates, {"kind": "reseau_cooperatif"}, cqcm.name)
    researchers = [
        partner(f"Université d'essai {n}", "recherche", region=rng.choice(REGIONS))
        for n in range(3 * scale)
    ]
    funder = partner("Fonds d'essai", "institution")
    retailers = [partner(f"Épicerie d'essai {n}", "detaillant") for n in range(4 * scale)]
    gone = rng.choice(researchers)
    p.add("deactivate", gone.creates, {}, gone.name)

    others = [pole, cqcm, funder]
    for number in range(5 * scale):
        chosen = rng.sample(researchers, rng.randint(1, 2)) + rng.sample(others, rng.randint(0, 1))
        started_on = _day(rng, date(2021, 1, 1), YEAR_END)
        body = {"title": f"Recherche d'essai {number}",
                "partner_ids": [s.creates for s in chosen],
                "started_on": started_on.isoformat()}  # fmt: skip
        if rng.random() < 0.5:
            body["theme"] = "coopératives de travail"
        start = p.add("project", None, body, *(s.name for s in chosen))
        start.creates = Ref(f"project-{number}")
        if rng.random() < 0.5:
            ended_on = _day(rng, started_on, started_on + timedelta(days=700))
            p.add("complete", start.creates, {"ended_on": ended_on.isoformat()}, start.name)

    for number in range(3 * scale):
        formed_on = _day(rng, date(2022, 1, 1), date(2024, 3, 31))
        body = {"name": f"Table d'essai {number}", "sector": rng.choice(SECTORS),
                "formed_on": formed_on.isoformat()}  # fmt: skip
        form = p.add("table", None, body)
        table = form.creates = Ref(f"table-{number}")
        steps = [form.name]
        for coop in rng.sample(coops, 4):
            days = [
                d for d in (_day(rng, date(2021, 1, 1), YEAR_END) for _ in range(20))
                if _member_on(p.periods[coop.name], d)
            ]  # fmt: skip
            if not days:
                continue
            joined_on = days[0]
            body = {"cooperative_id": coop, "joined_on": joined_on.isoformat()}
            joined = p.add("member", table, body, form.name, p.membership_needs(coop, joined_on))
            steps.append(joined.name)
            if rng.random() < 0.3:
                left_on = joined_on + timedelta(days=rng.randint(1, 400))
                left = p.add("member_leave", table, {"left_on": left_on.isoformat()}, joined.name)
                left.sub = coop
                steps.append(left.name)
        for _ in range(rng.randint(1, 4)):
            body = {"kind": rng.choice(TABLE_ACTION_KINDS), "title": "Action d'essai",
                    "performed_on": _day(rng, formed_on, YEAR_END).isoformat()}  # fmt: skip
            needs = [form.name]
            if rng.random() < 0.3:
                cited = rng.choice([pole, cqcm, *retailers])
                body["partner_ids"] = [cited.creates]
                needs.append(cited.name)
            logged = p.add("table_action", table, body, *needs)
            logged.creates = Ref(f"action-{len(p.steps)}")
            steps.append(logged.name)
            if rng.random() < 0.2:
                withdrawn = p.add("withdraw_action", table, {"reason": "doublon"}, logged.name)
                withdrawn.sub = logged.creates
                steps.append(withdrawn.name)
        for shop in rng.sample(retailers, rng.randint(1, len(retailers))):
            started_on = _day(rng, formed_on, YEAR_END)
            body = {"retailer_id": shop.creates, "started_on": started_on.isoformat()}
            if rng.random() < 0.5:
                body["note"] = "Tablette des produits locaux"
            placed = p.add("placement", table, body, form.name, shop.name)
            placed.creates = Ref(f"placement-{len(p.steps)}")
            steps.append(placed.name)
            if number == 0 or rng.random() < 0.4:
                ended_on = _day(rng, started_on, started_on + timedelta(days=300))
                ended = p.add("end_placement", table, {"ended_on": ended_on.isoformat()},
                              placed.name)  # fmt: skip
                ended.sub = placed.creates
                steps.append(ended.name)
        if number == 0:
            dissolved_on = _day(rng, formed_on, YEAR_END)
            p.add("dissolve", table, {"dissolved_on": dissolved_on.isoformat()}, *steps)


def _interleave(steps: list[Step], rng: random.Random) -> list[Step]:
    """A random order in which every step comes after the steps it needs."""
    placed: set[str] = set()
    waiting = list(steps)
    order: list[Step] = []
    while waiting:
        ready = [s for s in waiting if all(n in placed for n in s.needs)]
        chosen = rng.choice(ready)
        waiting.remove(chosen)
        placed.add(chosen.name)
        order.append(chosen)
    return order


@dataclass
class Cooperative:
    """What was accepted about a cooperative."""

    region: str
    sector: str
    worker_members: int
    periods: list[list[date | None]]


@dataclass
class Activity:
    """What was accepted about an activity."""

    type: str
    date: date
    region: str | None
    partners: list[str]
    cancelled: bool = False


@dataclass
class Ambassador:
    """What was accepted about an ambassador (and what the departure policy implies)."""

    cooperative_id: str
    enrolled_on: date
    ended_on: date | None = None


@dataclass
class Partner:
    """What was accepted about a partner of the directory."""

    name: str
    kind: str
    aliases: list[str]


@dataclass
class ResearchProject:
    """What was accepted about a research project."""

    partner_ids: list[str]
    started_on: date
    ended_on: date | None = None


@dataclass
class SectorTable:
    """What was accepted about a sector table and its records."""

    formed_on: date
    dissolved_on: date | None = None
    members: dict[str, list[date | None]] = field(default_factory=dict)
    actions: dict[str, tuple[str, date]] = field(default_factory=dict)
    withdrawn: set[str] = field(default_factory=set)
    placements: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class Ledger:
    """Everything the services accepted, as their answers told it."""

    cooperatives: dict[str, Cooperative] = field(default_factory=dict)
    activities: dict[str, Activity] = field(default_factory=dict)
    attendances: list[tuple[str, str, int]] = field(default_factory=list)
    public: list[tuple[str, int, str | None]] = field(default_factory=list)
    ambassadors: dict[str, Ambassador] = field(default_factory=dict)
    actions: list[tuple[str, date, int]] = field(default_factory=list)
    partners: dict[str, Partner] = field(default_factory=dict)
    projects: dict[str, ResearchProject] = field(default_factory=dict)
    tables: dict[str, SectorTable] = field(default_factory=dict)
    events: Counter[str] = field(default_factory=Counter)

    def record(self, step: Step, target_id: str | None, body: dict[str, Any], answer: Any) -> None:
        """Note an accepted command and the integration events it implies."""
        getattr(self, f"_{step.kind}")(target_id, body, answer)

    def _join(self, _: str | None, body: dict[str, Any], answer: dict[str, Any]) -> None:
        self.cooperatives[answer["id"]] = Cooperative(
            body["region"],
            body["sector"],
            body["worker_members"],
            [[date.fromisoformat(body["joined_on"]), None]],
        )
        self.events["CoopJoined"] += 1

    def _update(self, coop_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert coop_id is not None
        coop = self.cooperatives[coop_id]
        before = (coop.region, coop.sector, coop.worker_members)
        coop.region = body.get("region", coop.region)
        coop.sector = body.get("sector", coop.sector)
        coop.worker_members = body.get("worker_members", coop.worker_members)
        if before != (coop.region, coop.sector, coop.worker_members):
            self.events["CoopProfileUpdated"] += 1

    def _leave(self, coop_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert coop_id is not None
        left_on = date.fromisoformat(body["left_on"])
        self.cooperatives[coop_id].periods[-1][1] = left_on
        self.events["CoopLeft"] += 1
        for ambassador in self.ambassadors.values():
            if ambassador.cooperative_id == coop_id and ambassador.ended_on is None:
                ambassador.ended_on = max(left_on, ambassador.enrolled_on)
                self.events["AmbassadorDeactivated"] += 1

    def _rejoin(self, coop_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert coop_id is not None
        rejoined_on = date.fromisoformat(body["rejoined_on"])
        self.cooperatives[coop_id].periods.append([rejoined_on, None])
        self.events["CoopRejoined"] += 1

    def _schedule(self, _: str | None, body: dict[str, Any], answer: dict[str, Any]) -> None:
        self.activities[answer["id"]] = Activity(
            body["type"],
            date.fromisoformat(body["date"]),
            body.get("region"),
            list(body.get("partners", [])),
        )
        self.events["ActivityScheduled"] += 1

    def _attend(self, activity_id: str | None, body: dict[str, Any], answer: Any) -> None:
        assert activity_id is not None
        if answer is None:
            return  # 200: the cooperative's attendance was already recorded
        participants = body.get("participants", 1)
        self.attendances.append((activity_id, body["cooperative_id"], participants))
        self.events["ActivityAttended"] += 1

    def _public(self, activity_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert activity_id is not None
        self.public.append((activity_id, body["count"], body.get("region")))
        self.events["PublicAttendanceRecorded"] += 1

    def _cancel(self, activity_id: str | None, _body: dict[str, Any], _: Any) -> None:
        assert activity_id is not None
        self.activities[activity_id].cancelled = True
        self.events["ActivityCancelled"] += 1

    def _enroll(self, _: str | None, body: dict[str, Any], answer: dict[str, Any]) -> None:
        enrolled_on = date.fromisoformat(body["enrolled_on"])
        self.ambassadors[answer["id"]] = Ambassador(body["cooperative_id"], enrolled_on)
        self.events["AmbassadorEnrolled"] += 1

    def _act(self, ambassador_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert ambassador_id is not None
        performed_on = date.fromisoformat(body["performed_on"])
        self.actions.append((ambassador_id, performed_on, body.get("people_reached", 0)))
        self.events["AmbassadorActionLogged"] += 1

    def _retire(self, ambassador_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert ambassador_id is not None
        self.ambassadors[ambassador_id].ended_on = date.fromisoformat(body["retired_on"])
        self.events["AmbassadorRetired"] += 1

    def _partner(self, _: str | None, body: dict[str, Any], answer: dict[str, Any]) -> None:
        self.partners[answer["id"]] = Partner(body["name"], body["kind"], body.get("aliases", []))
        self.events["PartnerRegistered"] += 1

    def _partner_update(self, partner_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert partner_id is not None
        partner = self.partners[partner_id]
        if body.get("kind", partner.kind) != partner.kind:
            partner.kind = body["kind"]
            self.events["PartnerUpdated"] += 1

    def _deactivate(self, _: str | None, _body: dict[str, Any], _answer: Any) -> None:
        self.events["PartnerDeactivated"] += 1

    def _project(self, _: str | None, body: dict[str, Any], answer: dict[str, Any]) -> None:
        started_on = date.fromisoformat(body["started_on"])
        self.projects[answer["id"]] = ResearchProject(list(body["partner_ids"]), started_on)
        self.events["ResearchProjectStarted"] += 1

    def _complete(self, project_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert project_id is not None
        self.projects[project_id].ended_on = date.fromisoformat(body["ended_on"])
        self.events["ResearchProjectCompleted"] += 1

    def _table(self, _: str | None, body: dict[str, Any], answer: dict[str, Any]) -> None:
        self.tables[answer["id"]] = SectorTable(date.fromisoformat(body["formed_on"]))
        self.events["SectorTableFormed"] += 1

    def _member(self, table_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert table_id is not None
        joined_on = date.fromisoformat(body["joined_on"])
        self.tables[table_id].members[body["cooperative_id"]] = [joined_on, None]
        self.events["SectorTableMemberAdded"] += 1

    def _member_leave(self, table_id: str | None, body: dict[str, Any], answer: Any) -> None:
        assert table_id is not None
        self.tables[table_id].members[answer["sub"]][1] = date.fromisoformat(body["left_on"])
        self.events["SectorTableMemberRemoved"] += 1

    def _table_action(self, table_id: str | None, body: dict[str, Any], answer: Any) -> None:
        assert table_id is not None
        performed_on = date.fromisoformat(body["performed_on"])
        self.tables[table_id].actions[answer["id"]] = (body["kind"], performed_on)
        self.events["SectorTableActionLogged"] += 1

    def _withdraw_action(self, table_id: str | None, _body: dict[str, Any], answer: Any) -> None:
        assert table_id is not None
        self.tables[table_id].withdrawn.add(answer["sub"])
        self.events["SectorTableActionWithdrawn"] += 1

    def _placement(self, table_id: str | None, body: dict[str, Any], answer: Any) -> None:
        assert table_id is not None
        started_on = date.fromisoformat(body["started_on"])
        self.tables[table_id].placements[answer["id"]] = [body["retailer_id"], started_on, None]
        self.events["RetailPlacementSecured"] += 1

    def _end_placement(self, table_id: str | None, body: dict[str, Any], answer: Any) -> None:
        assert table_id is not None
        self.tables[table_id].placements[answer["id"]][2] = date.fromisoformat(body["ended_on"])
        self.events["RetailPlacementEnded"] += 1

    def _dissolve(self, table_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert table_id is not None
        self.tables[table_id].dissolved_on = date.fromisoformat(body["dissolved_on"])
        self.events["SectorTableDissolved"] += 1


PATHS = {
    "join": ("POST", "/v1/cooperatives"),
    "update": ("PATCH", "/v1/cooperatives/{id}"),
    "leave": ("POST", "/v1/cooperatives/{id}/departure"),
    "rejoin": ("POST", "/v1/cooperatives/{id}/readmission"),
    "schedule": ("POST", "/v1/activities"),
    "attend": ("POST", "/v1/activities/{id}/attendances"),
    "public": ("POST", "/v1/activities/{id}/public-attendance"),
    "cancel": ("POST", "/v1/activities/{id}/cancellation"),
    "enroll": ("POST", "/v1/ambassadors"),
    "act": ("POST", "/v1/ambassadors/{id}/actions"),
    "retire": ("POST", "/v1/ambassadors/{id}/retirement"),
    "partner": ("POST", "/v1/partners"),
    "partner_update": ("PATCH", "/v1/partners/{id}"),
    "deactivate": ("POST", "/v1/partners/{id}/deactivation"),
    "project": ("POST", "/v1/research-projects"),
    "complete": ("POST", "/v1/research-projects/{id}/completion"),
    "table": ("POST", "/v1/sector-tables"),
    "member": ("POST", "/v1/sector-tables/{id}/members"),
    "member_leave": ("DELETE", "/v1/sector-tables/{id}/members/{sub}"),
    "table_action": ("POST", "/v1/sector-tables/{id}/actions"),
    "withdraw_action": ("DELETE", "/v1/sector-tables/{id}/actions/{sub}"),
    "placement": ("POST", "/v1/sector-tables/{id}/retail-placements"),
    "end_placement": ("POST", "/v1/sector-tables/{id}/retail-placements/{sub}/end"),
    "dissolve": ("POST", "/v1/sector-tables/{id}/dissolution"),
}
PARTNERSHIP_KINDS = frozenset(list(PATHS)[11:])
CREATED = frozenset({201})
ACCEPTED = {
    **dict.fromkeys(
        ("join", "schedule", "public", "enroll", "act", "partner", "project", "table", "member",
         "table_action", "placement"),
        CREATED,
    ),
    "member_leave": frozenset({204}),
    "withdraw_action": frozenset({204}),
}  # fmt: skip


class Loader:
    """Sends a plan to the services and keeps the ledger of what they accepted."""

    def __init__(
        self,
        urls: dict[str, str],
        steps: list[Step],
        *,
        pace: float = 0.0,
        deadline: float = 120.0,
        run_key: str = "",
    ) -> None:
        self.urls = urls
        self.steps = steps
        self.pace = pace
        self.deadline = deadline
        self.run_key = run_key or f"{time.time_ns()}"
        self.ledger = Ledger()
        self.ids: dict[str, str] = {}
        self.accepted = 0
        self.not_member_retries = 0
        self.connection_retries = 0
        self.anomalies: list[str] = []
        self.answers: list[tuple[float, str, int]] = []
        self.cut_off: set[str] = set()
        """Steps whose request a lost connection cut off at least once."""
        self._thread: threading.Thread | None = None
        self._progress = threading.Condition()

    def start(self) -> Loader:
        """Run the plan in a background thread."""
        self._thread = threading.Thread(target=self.run, name="load", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        """Wait for the plan to finish (or give up); fail when it did not end."""
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the load did not finish in time"

    def wait_until_accepted(self, count: int, timeout: float = 120) -> None:
        """Block until at least `count` commands were accepted (or the load ended)."""
        with self._progress:
            self._progress.wait_for(
                lambda: self.accepted >= count or not self.running, timeout=timeout
            )

    @property
    def running(self) -> bool:
        """True while the load thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """Send the plan; an unexpected error ends the load as an anomaly."""
        try:
            self._run()
        except Exception:
            self.anomalies.append(traceback.format_exc())
        finally:
            with self._progress:
                self._progress.notify_all()

    def assert_all_accepted(self) -> None:
        """Every step of the plan ended in a 2xx, and nothing else was answered."""
        assert not self.anomalies, "\n".join(self.anomalies)
        assert self.accepted == len(self.steps), f"{self.accepted} of {len(self.steps)} accepted"

    def _run(self) -> None:
        done: set[str] = set()
        not_before: dict[str, float] = {}
        pending = list(self.steps)
        stop_at = time.monotonic() + self.deadline
        with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as http:
            while pending and time.monotonic() < stop_at:
                now = time.monotonic()
                step = next(
                    (
                        s
                        for s in pending
                        if all(n in done for n in s.needs) and not_before.get(s.name, 0) <= now
                    ),
                    None,
                )
                if step is None:
                    time.sleep(0.05)
                    continue
                outcome = self._send(http, step)
                if outcome == "accepted":
                    pending.remove(step)
                    done.add(step.name)
                    with self._progress:
                        self.accepted += 1
                        self._progress.notify_all()
                    if self.pace:
                        time.sleep(self.pace)
                elif outcome == "later":
                    not_before[step.name] = time.monotonic() + 0.2
                elif outcome == "retry":
                    time.sleep(0.1)
                else:
                    pending.remove(step)  # an anomaly: recorded, never accepted
        for step in pending:
            self.anomalies.append(f"{step.name}: not accepted before the deadline")

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return self.ids[value.name]
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    def _send(self, http: httpx.Client, step: Step) -> str:
        method, template = PATHS[step.kind]
        target_id = self.ids[step.target.name] if step.target else None
        sub_id = self._resolve(step.sub) if step.sub else None
        url = self.urls[step.service] + template.format(id=target_id, sub=sub_id)
        body = {k: self._resolve(v) for k, v in step.body.items()}
        headers = {"Idempotency-Key": f"{self.run_key}-{step.name}"} if method == "POST" else {}
        sent = {"params": body} if method == "DELETE" else {"json": body}
        try:
            response = http.request(method, url, headers=headers, **sent)
        except httpx.TransportError:
            self.connection_retries += 1
            self.cut_off.add(step.name)
            return "retry"
        self.answers.append((time.monotonic(), step.service, response.status_code))
        expected = ACCEPTED.get(step.kind, {200, 201} if step.kind == "attend" else {200})
        if method == "DELETE" and step.name in self.cut_off:
            expected = {*expected, 404}  # the cut-off attempt did it; its 204 was lost
        if response.status_code in expected:
            answer = response.json() if response.content else {}
            if step.creates is not None:
                self.ids[step.creates.name] = answer["id"]
            if sub_id is not None:
                answer = {"id": sub_id, "sub": sub_id, **answer}
            new = response.status_code == 201 or step.kind != "attend"
            self.ledger.record(step, target_id, body, answer if new else None)
            return "accepted"
        problem = response.json() if response.content else {}
        if response.status_code == 422 and str(problem.get("type", "")).endswith(NOT_MEMBER):
            self.not_member_retries += 1
            return "later"
        if response.status_code == 503:
            return "retry"  # a service still starting: same as a refused connection
        self.anomalies.append(f"{step.name} {method} {url} → {response.status_code}: {problem}")
        return "anomaly"
