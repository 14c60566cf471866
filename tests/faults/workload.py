"""A bounded, seeded load over the services' HTTP APIs, and a ledger of what they accepted.

`plan_load(seed)` decides every command before the first request: cooperatives that join,
leave and come back, profile changes, activities of every type (a few cancelled, a few
outside the fiscal year), attendances (some sent twice), public attendance, ambassadors with
their actions, retirements, and a departure whose policy deactivates ambassadors. Every
command is valid when its dependencies have been accepted, so each one must end in a 2xx.

`Loader` sends the plan in order, each POST with its own `Idempotency-Key`. A connection
error (a service killed or restarting) is retried with the same key; a 422
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

    @property
    def service(self) -> str:
        """The service that handles the command."""
        if self.kind in ("join", "update", "leave", "rejoin"):
            return "membership"
        if self.kind in ("enroll", "act", "retire"):
            return "ambassadors"
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


def plan_load(seed: int, *, scale: int = 1) -> list[Step]:
    """A few hundred commands per `scale`, in a random order that respects dependencies."""
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
    return _interleave(p.steps, rng)


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
class Ledger:
    """Everything the services accepted, as their answers told it."""

    cooperatives: dict[str, Cooperative] = field(default_factory=dict)
    activities: dict[str, Activity] = field(default_factory=dict)
    attendances: list[tuple[str, str, int]] = field(default_factory=list)
    public: list[tuple[str, int, str | None]] = field(default_factory=list)
    ambassadors: dict[str, Ambassador] = field(default_factory=dict)
    actions: list[tuple[str, date, int]] = field(default_factory=list)
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
}
ACCEPTED = {"join": {201}, "schedule": {201}, "public": {201}, "enroll": {201}, "act": {201}}


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
        return value

    def _send(self, http: httpx.Client, step: Step) -> str:
        method, template = PATHS[step.kind]
        target_id = self.ids[step.target.name] if step.target else None
        url = self.urls[step.service] + template.format(id=target_id)
        body = {k: self._resolve(v) for k, v in step.body.items()}
        headers = {"Idempotency-Key": f"{self.run_key}-{step.name}"} if method == "POST" else {}
        try:
            response = http.request(method, url, json=body, headers=headers)
        except httpx.TransportError:
            self.connection_retries += 1
            return "retry"
        self.answers.append((time.monotonic(), step.service, response.status_code))
        expected = ACCEPTED.get(step.kind, {200, 201} if step.kind == "attend" else {200})
        if response.status_code in expected:
            answer = response.json()
            if step.creates is not None:
                self.ids[step.creates.name] = answer["id"]
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
