"""A bounded, seeded load over the services' HTTP APIs, and a ledger of what they accepted.

`plan_load(seed)` decides every command before the first request: cooperatives that join,
leave and come back, profile changes, activities of every type (a few cancelled, a few
outside the fiscal year), attendances (some sent twice), public attendance, ambassadors with
their actions, retirements, and a departure whose policy deactivates ambassadors. With
`partnerships=True` it also plans partners (some named as the activities name them, one
changed, one deactivated), research projects (some completed), sector tables with members who
join and leave, actions (one withdrawn), retail placements opened and ended, and a
dissolution. With `corrections=True` it also corrects records of every kind (CONTRACT §10):
membership periods, a void undone and one kept, activity revisions, attendance, public
attendance and actions corrected or withdrawn, enrollments corrected, a retirement undone.
The two flags are independent. Every command is valid when its dependencies have been
accepted, so each one must end in a 2xx.

`Loader` sends the plan in order, each POST with its own `Idempotency-Key`. A connection
error (a service killed or restarting) is retried with the same key; a 422
`cooperative-not-member` (the service's membership view not caught up yet) is retried later
while other commands go on. A PATCH sent again is a no-op; a DELETE (a withdrawal, a table
member's removal) sent again after an attempt whose outcome is unknown may find the record
already withdrawn, which counts as accepted. Any other answer is an anomaly. The `Ledger`
keeps only what was accepted, as the answers told it, with the corrections applied and the
ambassadors' policies (§4, §10) worked out from the contract: it is the reference the
reporting figures are compared with.
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
    """The record under the target the path names after it: an attendance, a public record,
    an ambassador's action, a table's member or action, a placement."""

    @property
    def service(self) -> str:
        """The service that handles the command."""
        if self.kind in MEMBERSHIP_KINDS:
            return "membership"
        if self.kind in AMBASSADOR_KINDS:
            return "ambassadors"
        if self.kind in PARTNERSHIP_KINDS:
            return "partnerships"
        return "events"


CORRECTION_KINDS = frozenset(
    {
        "correct_membership",
        "void",
        "restore",
        "revise",
        "correct_attendance",
        "withdraw_attendance",
        "correct_public",
        "withdraw_public",
        "correct_enrollment",
        "correct_action",
        "withdraw_action",
        "reactivate",
    }
)
MEMBERSHIP_KINDS = ("join", "update", "leave", "rejoin", "correct_membership", "void", "restore")
AMBASSADOR_KINDS = (
    "enroll",
    "act",
    "retire",
    "correct_enrollment",
    "correct_action",
    "withdraw_action",
    "reactivate",
)


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
        self.activities: list[_PlannedActivity] = []
        self.ambassadors: list[_PlannedAmbassador] = []

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


@dataclass
class _PlannedActivity:
    """What the plan did with an activity, for the corrections that follow."""

    ref: Ref
    scheduled: str
    body: dict[str, Any]
    attendances: list[Ref] = field(default_factory=list)  # the cooperatives that attended
    public: list[Ref] = field(default_factory=list)  # its public attendance records
    steps: list[str] = field(default_factory=list)  # every step about it


@dataclass
class _PlannedAmbassador:
    """What the plan did with an ambassador, for the corrections that follow."""

    ref: Ref
    coop: Ref
    enroll: str
    enrolled_on: date
    actions: list[tuple[Ref, str, date]] = field(default_factory=list)
    retired: tuple[str, date] | None = None


def plan_load(
    seed: int, *, scale: int = 1, partnerships: bool = False, corrections: bool = False
) -> list[Step]:
    """A few hundred commands per `scale`, in a random order that respects dependencies.

    With `partnerships`, the plan also loads the partnerships service (CONTRACT §12): see
    `_plan_partnerships`. With `corrections`, it also corrects records (CONTRACT §10) amid the
    load: see `_plan_corrections`. The flags are independent; with neither, the plan is the one
    every earlier seed gave, and each flag's additions are the same with or without the other.
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
        p.activities.append(_PlannedActivity(step.creates, step.name, body))

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
            p.activities[int(activity.name.split("-")[1])].attendances.append(coop)
        kind = p.steps[int(scheduled.split("-")[1])].body["type"]
        if kind in ("cine_discussion", "parcours_coop") or rng.random() < 0.2:
            for _ in range(rng.randint(1, 3)):
                body = {"count": rng.randint(3, 90)}
                if rng.random() < 0.6:
                    body["region"] = rng.choice(REGIONS)
                step = p.add("public", activity, body, scheduled)
                per_activity.setdefault(activity.name, []).append(step.name)
                step.creates = Ref(f"public-{step.name}")
                p.activities[int(activity.name.split("-")[1])].public.append(step.creates)
    for original in rng.sample(attended, 4 * scale):
        assert original.target is not None
        again = p.add("attend", original.target, dict(original.body), original.name)
        per_activity[original.target.name].append(again.name)
    for activity, scheduled, _ in rng.sample(activities, 2 * scale):
        cancel = p.add(
            "cancel", activity, {"reason": "tempête"}, scheduled, *per_activity[activity.name]
        )
        per_activity[activity.name].append(cancel.name)
    for planned in p.activities:
        planned.steps = [planned.scheduled, *per_activity.get(planned.ref.name, [])]

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
        planned_ambassador = _PlannedAmbassador(ambassador, coop, enroll.name, enrolled_on)
        p.ambassadors.append(planned_ambassador)
        actions = []
        last = latest if coop == policy_coop else YEAR_END
        for _ in range(rng.randint(0, 4)):
            action: dict[str, Any] = {
                "kind": rng.choice(ACTION_KINDS),
                "performed_on": _day(rng, enrolled_on, last).isoformat(),
            }
            if rng.random() < 0.8:
                action["people_reached"] = rng.randint(0, 60)
            act = p.add("act", ambassador, action, enroll.name)
            act.creates = Ref(f"action-{act.name}")
            actions.append(act.name)
            planned_ambassador.actions.append(
                (act.creates, act.name, date.fromisoformat(action["performed_on"]))
            )
        if coop == policy_coop:
            policy_needs += [enroll.name, *actions]
        elif number < 2 * scale:
            retired_on = _day(rng, enrolled_on + timedelta(days=1), YEAR_END + timedelta(days=30))
            retire = p.add(
                "retire", ambassador, {"retired_on": retired_on.isoformat()}, enroll.name, *actions
            )
            planned_ambassador.retired = (retire.name, retired_on)
    p.leave(policy_coop, policy_left_on, *policy_needs)  # its ambassadors are deactivated
    if partnerships:
        _plan_partnerships(p, coops, scale)
    if corrections:  # after the partnerships: a cooperative's correction waits for its tables
        _plan_corrections(
            p, random.Random(seed ^ 0x5EED), steady, leavers, newcomers, policy_coop, veterans
        )
    return _interleave(p.steps, rng, eager=CORRECTION_KINDS if corrections else frozenset())


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
                withdrawn = p.add(
                    "withdraw_table_action", table, {"reason": "doublon"}, logged.name
                )
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


def _plan_corrections(
    p: _Planner,
    rng: random.Random,
    steady: list[Ref],
    leavers: list[Ref],
    newcomers: list[Ref],
    policy_coop: Ref,
    veterans: list[Ref],
) -> None:
    """Corrections of every kind (CONTRACT §10), each valid once its dependencies are accepted.

    A correction comes after every command whose validity it could change: an activity's
    revision after all its attendances, a cooperative's membership correction, void or
    restoration after every command about it, its attendances, its ambassadors and (with the
    partnerships' load) its sector-table memberships.
    """
    scale = len(steady) // 12

    # Activities: revisions of date (one moved into the year) and type.
    out_of_year = p.activities[3]
    in_year = [a for a in p.activities if a is not out_of_year and a.ref.name != "activity-12"]
    for planned in [out_of_year, *rng.sample(in_year, 3 * scale)]:
        change: dict[str, Any] = {}
        if planned is out_of_year or rng.random() < 0.6:
            change["date"] = _day(rng, YEAR_START, YEAR_END).isoformat()
        if "date" not in change or rng.random() < 0.4:
            others = [t for t in ACTIVITY_TYPES if t != planned.body["type"]]
            change["type"] = rng.choice(others)
        p.add("revise", planned.ref, change, *planned.steps)

    # Member attendances: corrected participants (sometimes to the same value) and withdrawals.
    pairs = [(a, coop) for a in p.activities for coop in a.attendances]
    for number, (planned, coop) in enumerate(rng.sample(pairs, 7 * scale)):
        if number < 4 * scale:
            body: dict[str, Any] = {"participants": rng.randint(1, 12)}
            if rng.random() < 0.5:
                body["reason"] = "nombre corrigé"
            step = p.add("correct_attendance", planned.ref, body, *planned.steps)
        else:
            reason = {"reason": "saisie en double"} if rng.random() < 0.5 else {}
            step = p.add("withdraw_attendance", planned.ref, reason, *planned.steps)
        step.sub = coop

    # Public attendance: corrected count or region, and withdrawals.
    records = [(a, record) for a in p.activities for record in a.public]
    for number, (planned, record) in enumerate(rng.sample(records, min(len(records), 5 * scale))):
        if number < 3 * scale:
            body = {"count": rng.randint(1, 90)}
            if rng.random() < 0.5:
                body["region"] = rng.choice(REGIONS)
            step = p.add("correct_public", planned.ref, body, *planned.steps)
        else:
            step = p.add("withdraw_public", planned.ref, {"reason": "erreur"}, *planned.steps)
        step.sub = record

    # Ambassadors: one retired ambassador reactivated; its cooperative stays a member.
    hosts = [a for a in p.ambassadors if a.coop != policy_coop]
    retired = rng.choice([a for a in hosts if a.retired is not None])
    assert retired.retired is not None
    p.add("reactivate", retired.ref, {"reason": "retraite annulée"}, retired.retired[0])
    kept = retired.coop

    # Enrollment corrections, on ambassadors whose actions are not corrected.
    others = [a for a in hosts if a is not retired]
    rng.shuffle(others)
    for planned_ambassador in others[: 2 * scale]:
        joined_on = p.periods[planned_ambassador.coop.name][0][0]
        latest = min([YEAR_END, *(d for _, _, d in planned_ambassador.actions)])
        if planned_ambassador.retired is not None:
            latest = min(latest, planned_ambassador.retired[1] - timedelta(days=1))
        earliest = max(joined_on, date(2023, 1, 1))
        if earliest > latest:
            continue
        needs = [planned_ambassador.enroll, *(s for _, s, _ in planned_ambassador.actions)]
        if planned_ambassador.retired is not None:
            needs.append(planned_ambassador.retired[0])
        enrolled_on = _day(rng, earliest, latest).isoformat()
        p.add("correct_enrollment", planned_ambassador.ref, {"enrolled_on": enrolled_on}, *needs)

    # Actions: corrections and withdrawals.
    actions = [(a, ref, s) for a in others[2 * scale :] for ref, s, _ in a.actions]
    for number, (planned_ambassador, action, step_name) in enumerate(
        rng.sample(actions, min(len(actions), 5 * scale))
    ):
        if number < 3 * scale:
            last = YEAR_END
            if planned_ambassador.retired is not None:
                last = min(last, planned_ambassador.retired[1] - timedelta(days=1))
            body = {"performed_on": _day(rng, planned_ambassador.enrolled_on, last).isoformat()}
            if rng.random() < 0.5:
                body["kind"] = rng.choice(ACTION_KINDS)
            if rng.random() < 0.5:
                body["people_reached"] = rng.randint(0, 60)
            step = p.add("correct_action", planned_ambassador.ref, body, step_name)
        else:
            step = p.add("withdraw_action", planned_ambassador.ref, {}, step_name)
        step.sub = action

    def about(coop: Ref) -> list[str]:
        """Every step so far about the cooperative, its attendances or its ambassadors."""
        mine = {a.ref.name for a in p.ambassadors if a.coop == coop}
        return [
            s.name
            for s in p.steps
            if coop in (s.creates, s.target, s.sub, s.body.get("cooperative_id"))
            or (s.target is not None and s.target.name in mine)
        ]

    def correct(coop: Ref, periods: list[tuple[date, date | None]]) -> None:
        body = {
            "periods": [
                {"start": start.isoformat(), "end": end.isoformat() if end else None}
                for start, end in periods
            ]
        }
        if rng.random() < 0.5:
            body["reason"] = "dates corrigées"
        p.add("correct_membership", coop, body, *about(coop))

    # Membership: a join date moved, a departure removed, departures moved.
    newcomer = rng.choice(newcomers[2 * scale :])
    correct(newcomer, [(_day(rng, date(2023, 6, 1), date(2024, 6, 30)), None)])
    in_year_leavers = [c for c in leavers if (p.periods[c.name][0][1] or date.min) >= YEAR_START]
    for coop in rng.sample(in_year_leavers, 2):
        periods = p.periods[coop.name]
        start, left_on = periods[0]
        assert left_on is not None
        if len(periods) == 1 and rng.random() < 0.5:
            correct(coop, [(start, None)])
            continue
        latest = periods[1][0] if len(periods) > 1 else YEAR_END
        moved = _day(rng, max(start + timedelta(days=1), YEAR_START), latest)
        correct(coop, [(start, moved), *periods[1:]])
    # The policy cooperative's departure removed or moved: its ambassadors follow (§10).
    start, left_on = p.periods[policy_coop.name][0]
    assert left_on is not None
    if rng.random() < 0.5:
        correct(policy_coop, [(start, None)])
    else:
        earliest = max(start + timedelta(days=1), left_on - timedelta(days=60))
        correct(policy_coop, [(start, _day(rng, earliest, YEAR_END))])
    # Two host cooperatives: one gets a departure it never reported, one is voided then restored.
    host_coops = sorted({a.coop.name for a in others if a.coop != kept})
    departing, restored = (Ref(name) for name in rng.sample(host_coops, 2))
    start = p.periods[departing.name][0][0]
    correct(departing, [(start, _day(rng, date(2023, 10, 1), YEAR_END))])
    p.add("void", restored, {"reason": "doublon"}, *about(restored))
    p.add("restore", restored, {"reason": "ce n'était pas un doublon"}, *about(restored))
    # A cooperative with attendances voided for good: it counts nowhere.
    voided = veterans[18 * scale + 1]
    p.add("void", voided, {"reason": "jamais membre"}, *about(voided))


def _interleave(
    steps: list[Step], rng: random.Random, eager: frozenset[str] = frozenset()
) -> list[Step]:
    """A random order in which every step comes after the steps it needs.

    Steps of the `eager` kinds tend to come soon after they may (half the time, one of them
    that may come is chosen), so they mix with the rest rather than pile up at the end.
    """
    placed: set[str] = set()
    waiting = list(steps)
    order: list[Step] = []
    while waiting:
        ready = [s for s in waiting if all(n in placed for n in s.needs)]
        urgent = [s for s in ready if s.kind in eager]
        chosen = rng.choice(urgent if urgent and rng.random() < 0.5 else ready)
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
    voided: bool = False


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
    """What was accepted about an ambassador (and what the membership policies imply)."""

    cooperative_id: str
    enrolled_on: date
    ended_on: date | None = None
    retired: bool = False


@dataclass
class Action:
    """What was accepted about an ambassador's action."""

    ambassador_id: str
    performed_on: date
    people_reached: int | None
    kind: str


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
    """Everything the services accepted, as their answers told it, corrections applied.

    Withdrawn records are removed; `events` counts the integration events the accepted
    commands imply — none for a correction that changes nothing.
    """

    cooperatives: dict[str, Cooperative] = field(default_factory=dict)
    activities: dict[str, Activity] = field(default_factory=dict)
    attendances: dict[tuple[str, str], int] = field(default_factory=dict)
    public: dict[str, tuple[str, int, str | None]] = field(default_factory=dict)
    ambassadors: dict[str, Ambassador] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    partners: dict[str, Partner] = field(default_factory=dict)
    projects: dict[str, ResearchProject] = field(default_factory=dict)
    tables: dict[str, SectorTable] = field(default_factory=dict)
    events: Counter[str] = field(default_factory=Counter)

    def record(
        self,
        step: Step,
        target_id: str | None,
        body: dict[str, Any],
        answer: Any,
        sub_id: str | None = None,
    ) -> None:
        """Note an accepted command and the integration events it implies."""
        handler = getattr(self, f"_{step.kind}")
        if step.sub is None:
            handler(target_id, body, answer)
        else:
            handler(target_id, sub_id, body, answer)

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

    def _correct_membership(self, coop_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert coop_id is not None
        coop = self.cooperatives[coop_id]
        periods: list[list[date | None]] = [
            [date.fromisoformat(p["start"]), date.fromisoformat(p["end"]) if p["end"] else None]
            for p in body["periods"]
        ]
        if periods != coop.periods:
            coop.periods = periods
            self.events["CoopMembershipCorrected"] += 1
            self._ambassadors_follow(coop_id)

    def _void(self, coop_id: str | None, _body: dict[str, Any], _: Any) -> None:
        assert coop_id is not None
        self.cooperatives[coop_id].voided = True
        self.events["CoopVoided"] += 1
        self._ambassadors_follow(coop_id)

    def _restore(self, coop_id: str | None, _body: dict[str, Any], _: Any) -> None:
        assert coop_id is not None
        self.cooperatives[coop_id].voided = False
        self.events["CoopRestored"] += 1
        self._ambassadors_follow(coop_id)

    def _ambassadors_follow(self, coop_id: str) -> None:
        """§10's policy: each ambassador not retired ends as if the corrected history were true.

        E is the earliest end among the periods that falls on or after `enrolled_on`: the
        ambassador is deactivated on max(`enrolled_on`, E) when E exists, on `enrolled_on`
        while the cooperative is voided or when `enrolled_on` is in none of its periods
        (§16.20), and active otherwise. Each change is one event.
        """
        coop = self.cooperatives[coop_id]
        for ambassador in self.ambassadors.values():
            if ambassador.cooperative_id != coop_id or ambassador.retired:
                continue
            enrolled_on = ambassador.enrolled_on
            ends = [e for _, e in coop.periods if e is not None and e >= enrolled_on]
            ended_on: date | None
            if coop.voided or not _member_on(_closed(coop.periods), enrolled_on):
                ended_on = enrolled_on
            elif ends:
                ended_on = max(enrolled_on, min(ends))
            else:
                ended_on = None
            if ended_on != ambassador.ended_on:
                was_active = ambassador.ended_on is None
                ambassador.ended_on = ended_on
                if ended_on is not None:
                    self.events["AmbassadorDeactivated"] += 1
                else:
                    assert not was_active
                    self.events["AmbassadorReactivated"] += 1

    def _schedule(self, _: str | None, body: dict[str, Any], answer: dict[str, Any]) -> None:
        self.activities[answer["id"]] = Activity(
            body["type"],
            date.fromisoformat(body["date"]),
            body.get("region"),
            list(body.get("partners", [])),
        )
        self.events["ActivityScheduled"] += 1

    def _revise(self, activity_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert activity_id is not None
        activity = self.activities[activity_id]
        before = (activity.type, activity.date)
        activity.type = body.get("type", activity.type)
        activity.date = date.fromisoformat(body.get("date", activity.date.isoformat()))
        if before != (activity.type, activity.date):
            self.events["ActivityRevised"] += 1

    def _attend(self, activity_id: str | None, body: dict[str, Any], answer: Any) -> None:
        assert activity_id is not None
        if answer is None:
            return  # 200: the cooperative's attendance was already recorded
        participants = body.get("participants", 1)
        self.attendances[activity_id, body["cooperative_id"]] = participants
        self.events["ActivityAttended"] += 1

    def _correct_attendance(
        self, activity_id: str | None, coop_id: str | None, body: dict[str, Any], _: Any
    ) -> None:
        assert activity_id is not None and coop_id is not None
        if self.attendances[activity_id, coop_id] != body["participants"]:
            self.attendances[activity_id, coop_id] = body["participants"]
            self.events["AttendanceCorrected"] += 1

    def _withdraw_attendance(
        self, activity_id: str | None, coop_id: str | None, _body: dict[str, Any], _: Any
    ) -> None:
        assert activity_id is not None and coop_id is not None
        del self.attendances[activity_id, coop_id]
        self.events["AttendanceWithdrawn"] += 1

    def _public(self, activity_id: str | None, body: dict[str, Any], answer: Any) -> None:
        assert activity_id is not None
        self.public[answer["id"]] = (activity_id, body["count"], body.get("region"))
        self.events["PublicAttendanceRecorded"] += 1

    def _correct_public(
        self, activity_id: str | None, record_id: str | None, body: dict[str, Any], _: Any
    ) -> None:
        assert record_id is not None
        before = self.public[record_id]
        after = (before[0], body.get("count", before[1]), body.get("region", before[2]))
        if after != before:
            self.public[record_id] = after
            self.events["PublicAttendanceCorrected"] += 1

    def _withdraw_public(
        self, activity_id: str | None, record_id: str | None, _body: dict[str, Any], _: Any
    ) -> None:
        assert record_id is not None
        del self.public[record_id]
        self.events["PublicAttendanceWithdrawn"] += 1

    def _cancel(self, activity_id: str | None, _body: dict[str, Any], _: Any) -> None:
        assert activity_id is not None
        self.activities[activity_id].cancelled = True
        self.events["ActivityCancelled"] += 1

    def _enroll(self, _: str | None, body: dict[str, Any], answer: dict[str, Any]) -> None:
        enrolled_on = date.fromisoformat(body["enrolled_on"])
        self.ambassadors[answer["id"]] = Ambassador(body["cooperative_id"], enrolled_on)
        self.events["AmbassadorEnrolled"] += 1

    def _correct_enrollment(self, ambassador_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert ambassador_id is not None
        ambassador = self.ambassadors[ambassador_id]
        enrolled_on = date.fromisoformat(body["enrolled_on"])
        if enrolled_on != ambassador.enrolled_on:
            ambassador.enrolled_on = enrolled_on
            self.events["AmbassadorEnrollmentCorrected"] += 1

    def _act(self, ambassador_id: str | None, body: dict[str, Any], answer: Any) -> None:
        assert ambassador_id is not None
        self.actions[answer["id"]] = Action(
            ambassador_id,
            date.fromisoformat(body["performed_on"]),
            body.get("people_reached"),
            body["kind"],
        )
        self.events["AmbassadorActionLogged"] += 1

    def _correct_action(
        self, ambassador_id: str | None, action_id: str | None, body: dict[str, Any], _: Any
    ) -> None:
        assert action_id is not None
        action = self.actions[action_id]
        before = (action.performed_on, action.people_reached, action.kind)
        action.performed_on = date.fromisoformat(
            body.get("performed_on", action.performed_on.isoformat())
        )
        action.people_reached = body.get("people_reached", action.people_reached)
        action.kind = body.get("kind", action.kind)
        if before != (action.performed_on, action.people_reached, action.kind):
            self.events["AmbassadorActionCorrected"] += 1

    def _withdraw_action(
        self, ambassador_id: str | None, action_id: str | None, _body: dict[str, Any], _: Any
    ) -> None:
        assert action_id is not None
        del self.actions[action_id]
        self.events["AmbassadorActionWithdrawn"] += 1

    def _retire(self, ambassador_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert ambassador_id is not None
        ambassador = self.ambassadors[ambassador_id]
        ambassador.ended_on = date.fromisoformat(body["retired_on"])
        ambassador.retired = True
        self.events["AmbassadorRetired"] += 1

    def _reactivate(self, ambassador_id: str | None, _body: dict[str, Any], _: Any) -> None:
        assert ambassador_id is not None
        ambassador = self.ambassadors[ambassador_id]
        ambassador.ended_on = None
        ambassador.retired = False
        self.events["AmbassadorReactivated"] += 1

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

    def _member_leave(
        self, table_id: str | None, coop_id: str | None, body: dict[str, Any], _: Any
    ) -> None:
        assert table_id is not None and coop_id is not None
        self.tables[table_id].members[coop_id][1] = date.fromisoformat(body["left_on"])
        self.events["SectorTableMemberRemoved"] += 1

    def _table_action(self, table_id: str | None, body: dict[str, Any], answer: Any) -> None:
        assert table_id is not None
        performed_on = date.fromisoformat(body["performed_on"])
        self.tables[table_id].actions[answer["id"]] = (body["kind"], performed_on)
        self.events["SectorTableActionLogged"] += 1

    def _withdraw_table_action(
        self, table_id: str | None, action_id: str | None, _body: dict[str, Any], _: Any
    ) -> None:
        assert table_id is not None and action_id is not None
        self.tables[table_id].withdrawn.add(action_id)
        self.events["SectorTableActionWithdrawn"] += 1

    def _placement(self, table_id: str | None, body: dict[str, Any], answer: Any) -> None:
        assert table_id is not None
        started_on = date.fromisoformat(body["started_on"])
        self.tables[table_id].placements[answer["id"]] = [body["retailer_id"], started_on, None]
        self.events["RetailPlacementSecured"] += 1

    def _end_placement(
        self, table_id: str | None, placement_id: str | None, body: dict[str, Any], _: Any
    ) -> None:
        assert table_id is not None and placement_id is not None
        self.tables[table_id].placements[placement_id][2] = date.fromisoformat(body["ended_on"])
        self.events["RetailPlacementEnded"] += 1

    def _dissolve(self, table_id: str | None, body: dict[str, Any], _: Any) -> None:
        assert table_id is not None
        self.tables[table_id].dissolved_on = date.fromisoformat(body["dissolved_on"])
        self.events["SectorTableDissolved"] += 1


def _closed(periods: list[list[date | None]]) -> list[tuple[date, date | None]]:
    return [(start, end) for start, end in periods if start is not None]


PATHS = {
    "join": ("POST", "/v1/cooperatives"),
    "update": ("PATCH", "/v1/cooperatives/{id}"),
    "leave": ("POST", "/v1/cooperatives/{id}/departure"),
    "rejoin": ("POST", "/v1/cooperatives/{id}/readmission"),
    "correct_membership": ("POST", "/v1/cooperatives/{id}/membership-correction"),
    "void": ("POST", "/v1/cooperatives/{id}/void"),
    "restore": ("POST", "/v1/cooperatives/{id}/restoration"),
    "schedule": ("POST", "/v1/activities"),
    "revise": ("PATCH", "/v1/activities/{id}"),
    "attend": ("POST", "/v1/activities/{id}/attendances"),
    "correct_attendance": ("PATCH", "/v1/activities/{id}/attendances/{sub}"),
    "withdraw_attendance": ("DELETE", "/v1/activities/{id}/attendances/{sub}"),
    "public": ("POST", "/v1/activities/{id}/public-attendance"),
    "correct_public": ("PATCH", "/v1/activities/{id}/public-attendance/{sub}"),
    "withdraw_public": ("DELETE", "/v1/activities/{id}/public-attendance/{sub}"),
    "cancel": ("POST", "/v1/activities/{id}/cancellation"),
    "enroll": ("POST", "/v1/ambassadors"),
    "correct_enrollment": ("PATCH", "/v1/ambassadors/{id}"),
    "act": ("POST", "/v1/ambassadors/{id}/actions"),
    "correct_action": ("PATCH", "/v1/ambassadors/{id}/actions/{sub}"),
    "withdraw_action": ("DELETE", "/v1/ambassadors/{id}/actions/{sub}"),
    "retire": ("POST", "/v1/ambassadors/{id}/retirement"),
    "reactivate": ("POST", "/v1/ambassadors/{id}/reactivation"),
    "partner": ("POST", "/v1/partners"),
    "partner_update": ("PATCH", "/v1/partners/{id}"),
    "deactivate": ("POST", "/v1/partners/{id}/deactivation"),
    "project": ("POST", "/v1/research-projects"),
    "complete": ("POST", "/v1/research-projects/{id}/completion"),
    "table": ("POST", "/v1/sector-tables"),
    "member": ("POST", "/v1/sector-tables/{id}/members"),
    "member_leave": ("DELETE", "/v1/sector-tables/{id}/members/{sub}"),
    "table_action": ("POST", "/v1/sector-tables/{id}/actions"),
    "withdraw_table_action": ("DELETE", "/v1/sector-tables/{id}/actions/{sub}"),
    "placement": ("POST", "/v1/sector-tables/{id}/retail-placements"),
    "end_placement": ("POST", "/v1/sector-tables/{id}/retail-placements/{sub}/end"),
    "dissolve": ("POST", "/v1/sector-tables/{id}/dissolution"),
}
PARTNERSHIP_KINDS = frozenset(
    {
        "partner",
        "partner_update",
        "deactivate",
        "project",
        "complete",
        "table",
        "member",
        "member_leave",
        "table_action",
        "withdraw_table_action",
        "placement",
        "end_placement",
        "dissolve",
    }
)
CREATED = frozenset({201})
ACCEPTED = dict.fromkeys(
    ("join", "schedule", "public", "enroll", "act", "partner", "project", "table", "member",
     "table_action", "placement"),
    CREATED,
)  # fmt: skip
"""The answers that accept a step, when not 200 (a DELETE: 204; an attendance: 200 or 201)."""
ALREADY_WITHDRAWN = "/already-withdrawn"


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
        self.unknown_outcomes: set[str] = set()  # steps whose request may have been executed
        self.withdrawn_before = 0  # withdrawals found already done after an unknown outcome
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
        """One attempt at a step.

        POSTs are idempotent by key. A PATCH is idempotent by state (sent again, it changes
        nothing and answers 200). A DELETE is not: when an earlier attempt's outcome is unknown
        (the connection broke after the request may have been sent), 404 `/already-withdrawn`
        means that attempt withdrew the record, and counts as accepted — only then.
        """
        method, template = PATHS[step.kind]
        target_id = self.ids[step.target.name] if step.target else None
        sub_id = self._resolve(step.sub) if step.sub else None
        url = self.urls[step.service] + template.format(id=target_id, sub=sub_id)
        body = {k: self._resolve(v) for k, v in step.body.items()}
        headers = {"Idempotency-Key": f"{self.run_key}-{step.name}"} if method == "POST" else {}
        try:
            if method == "DELETE":
                response = http.request(method, url, params=body, headers=headers)
            else:
                response = http.request(method, url, json=body, headers=headers)
        except httpx.TransportError as error:
            self.connection_retries += 1
            if not isinstance(error, httpx.ConnectError):
                self.unknown_outcomes.add(step.name)
            return "retry"
        self.answers.append((time.monotonic(), step.service, response.status_code))
        if method == "DELETE":
            expected = {204}
        else:
            expected = ACCEPTED.get(step.kind, {200, 201} if step.kind == "attend" else {200})
        document = response.json() if response.content else {}
        withdrawn_before = (
            method == "DELETE"
            and response.status_code == 404
            and str(document.get("type", "")).endswith(ALREADY_WITHDRAWN)
            and step.name in self.unknown_outcomes
        )
        if response.status_code in expected or withdrawn_before:
            self.withdrawn_before += withdrawn_before
            answer = document if response.status_code in expected else None
            if step.creates is not None:
                self.ids[step.creates.name] = answer["id"]
            new = response.status_code == 201 or step.kind != "attend"
            self.ledger.record(step, target_id, body, answer if new else None, sub_id)
            return "accepted"
        if response.status_code == 422 and str(document.get("type", "")).endswith(NOT_MEMBER):
            self.not_member_retries += 1
            return "later"
        if response.status_code == 503:
            return "retry"  # a service still starting: same as a refused connection
        self.anomalies.append(f"{step.name} {method} {url} → {response.status_code}: {document}")
        return "anomaly"
