"""`coop demo`: a plausible 2023-2024 history recorded through the public APIs (contract §9).

The history is generated from a fixed seed, so every run records the same story: 135
cooperatives over the years (125 members at the end of the fiscal year), joins in every month,
departures and readmissions, every activity type, ciné-discussions with regional partners,
Parcours COOP sessions, and 34 ambassadors of whom 29 act during the year. Every request
carries an Idempotency-Key, and a data dir that already holds a history is only shown again.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from shared.vocabulary import ActionKind, Sector

if TYPE_CHECKING:
    from services.supervisor import Supervisor

FISCAL_YEAR = "2023-2024"
YEAR_START = date(2023, 9, 1)
YEAR_END = date(2024, 8, 31)
SEED = 20232024

SECTORS = tuple(sector.value for sector in Sector)  # the sector list's built-in slugs
NAMES = (
    "L'Affluent", "La Remise", "Le Grenier", "Les Établis", "La Brèche", "Le Rucher",
    "L'Atelier du Fleuve", "La Tablée", "Le Fil d'Ariane", "La Mouture", "Le Radeau",
    "Les Passeurs", "La Coulée", "Le Boisé", "La Courtepointe", "L'Escale", "Le Phare",
    "La Canopée", "Les Semeurs", "Le Carrefour",
)  # fmt: skip
PARTNERS = (
    "Pôle d'économie sociale du Bas-Saint-Laurent",
    "Pôle d'économie sociale de la Capitale-Nationale",
    "Pôle d'économie sociale de l'Estrie",
    "Conseil québécois de la coopération et de la mutualité",
    "Agent.e.s jeunesse du CQCM",
    "Cinéma Paraloeil",
)
# Population-weighted regions: Montréal and Capitale-Nationale hold most co-ops.
REGION_WEIGHTS = {
    "01": 4, "02": 4, "03": 14, "04": 4, "05": 6, "06": 30, "07": 4, "08": 2, "09": 1,
    "10": 1, "11": 2, "12": 4, "13": 3, "14": 4, "15": 5, "16": 10, "17": 3,
}  # fmt: skip


@dataclass
class Plan:
    """Everything the demonstration will record, decided before the first request."""

    cooperatives: list[dict[str, Any]] = field(default_factory=list)
    departures: list[tuple[int, date]] = field(default_factory=list)
    readmissions: list[tuple[int, date]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    attendances: list[tuple[int, int, int]] = field(default_factory=list)
    public: list[tuple[int, int, str | None]] = field(default_factory=list)
    ambassadors: list[dict[str, Any]] = field(default_factory=list)
    actions: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    retirements: list[tuple[int, date]] = field(default_factory=list)


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def plan_history(seed: int = SEED) -> Plan:
    """The demonstration history: 125 members on 2024-08-31, 114 of them participating."""
    rng = random.Random(seed)
    plan = Plan()
    regions = list(REGION_WEIGHTS)
    weights = list(REGION_WEIGHTS.values())

    def cooperative(joined_on: date) -> int:
        number = len(plan.cooperatives)
        plan.cooperatives.append(
            {
                "name": f"Coopérative de travail {NAMES[number % len(NAMES)]} {number + 1}",
                "region": rng.choices(regions, weights)[0],
                "sector": SECTORS[number % len(SECTORS)],
                "worker_members": rng.randint(3, 40),
                "joined_on": joined_on.isoformat(),
                "neq": f"11{number + 1:08d}",
            }
        )
        return number

    veterans = [cooperative(_day(rng, date(2004, 1, 1), date(2023, 6, 30))) for _ in range(100)]
    gone_before = [cooperative(_day(rng, date(2008, 1, 1), date(2019, 12, 31))) for _ in range(5)]
    for number in gone_before:
        plan.departures.append((number, _day(rng, date(2020, 1, 1), date(2023, 6, 30))))
    newcomers: list[tuple[int, date]] = []
    month = YEAR_START
    for index in range(12):
        for _ in range(2 + index % 2):
            first = month
            last = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            joined = _day(rng, first, last)
            newcomers.append((cooperative(joined), joined))
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    newcomers = newcomers[:30]
    plan.cooperatives = plan.cooperatives[: 105 + len(newcomers)]

    leavers = rng.sample(veterans, 8)
    for number in leavers:
        plan.departures.append((number, _day(rng, date(2023, 10, 1), date(2024, 3, 31))))
    for number, left_on in plan.departures[-3:]:
        plan.readmissions.append(
            (number, _day(rng, left_on + timedelta(days=30), date(2024, 7, 31)))
        )

    def activity(kind: str, day: date, *, remote: bool = False, partners: int = 0) -> int:
        region = rng.choices(regions, weights)[0]
        body: dict[str, Any] = {
            "type": kind,
            "title": f"{kind.replace('_', ' ').capitalize()} — {day.isoformat()}",
            "date": day.isoformat(),
            "format": "remote" if remote else rng.choice(("in_person", "in_person", "hybrid")),
        }
        if not remote:
            body["region"] = region
        if partners:
            body["partners"] = rng.sample(PARTNERS, partners)
        plan.activities.append(body)
        return len(plan.activities) - 1

    kinds = ("formation", "courtepointe", "service_conseil", "conference", "reseautage", "autre")
    member_activities = [
        activity(kinds[i % len(kinds)], _day(rng, YEAR_START, YEAR_END), remote=i % 5 == 0)
        for i in range(36)
    ]
    cancelled = activity("formation", date(2024, 2, 15))
    plan.cancelled.append(cancelled)
    cine = [
        activity("cine_discussion", _day(rng, YEAR_START, YEAR_END), partners=rng.randint(1, 2))
        for _ in range(12)
    ]
    parcours = [
        activity("parcours_coop", _day(rng, YEAR_START, YEAR_END), remote=True) for _ in range(6)
    ]

    audiences = [rng.randint(50, 90) for _ in cine]
    audiences[-1] += 1000 - sum(audiences)
    for index, count in zip(cine, audiences, strict=True):
        plan.public.append((index, count, None if rng.random() < 0.3 else rng.choice(regions)))
    for index in parcours:
        plan.public.append((index, rng.randint(6, 18), rng.choice(regions)))

    def active_on(number: int, day: date) -> bool:
        joined = date.fromisoformat(plan.cooperatives[number]["joined_on"])
        left = dict(plan.departures).get(number)
        back = dict(plan.readmissions).get(number)
        if left is None:
            return joined <= day
        return joined <= day < left or (back is not None and back <= day)

    members_at_end = [n for n in range(len(plan.cooperatives)) if active_on(n, YEAR_END)]
    participants = set(rng.sample(members_at_end, 114))
    dated = sorted(member_activities + cine, key=lambda i: plan.activities[i]["date"])
    for number in sorted(participants):
        chances = [
            i for i in dated if active_on(number, date.fromisoformat(plan.activities[i]["date"]))
        ]
        for index in rng.sample(chances, min(len(chances), rng.randint(1, 4))):
            plan.attendances.append((index, number, rng.randint(1, 6)))
    for number in members_at_end[:10]:
        if number not in participants and active_on(number, date(2024, 2, 15)):
            plan.attendances.append((cancelled, number, 2))
    for number, left_on in plan.departures[5:10]:
        before = [
            i
            for i in dated
            if YEAR_START <= date.fromisoformat(plan.activities[i]["date"]) < left_on
        ]
        if before and active_on(number, date.fromisoformat(plan.activities[before[0]]["date"])):
            plan.attendances.append((before[0], number, 1))

    steady = set(veterans) - set(leavers)
    hosts = rng.sample(sorted(participants & steady), 34)
    for index, number in enumerate(hosts):
        joined = date.fromisoformat(plan.cooperatives[number]["joined_on"])
        enrolled = max(joined, date(2023, 6, 1)) if index < 30 else max(joined, YEAR_START)
        plan.ambassadors.append(
            {
                "cooperative": number,
                "name": f"Ambassadeur.rice {index + 1}",
                "email": f"ambassade{index + 1}@exemple.coop",
                "enrolled_on": enrolled.isoformat(),
            }
        )
    action_kinds = tuple(kind.value for kind in ActionKind)
    for index in range(29):
        enrolled = date.fromisoformat(plan.ambassadors[index]["enrolled_on"])
        for _ in range(rng.randint(1, 3)):
            plan.actions.append(
                (
                    index,
                    {
                        "kind": rng.choice(action_kinds),
                        "performed_on": _day(
                            rng, max(enrolled, YEAR_START), date(2024, 6, 30)
                        ).isoformat(),
                        "people_reached": rng.randint(5, 60),
                    },
                )
            )
    plan.retirements.append((33, date(2024, 7, 15)))
    return plan


class DemoClient:
    """Records the plan through the public APIs, retrying while a service catches up."""

    def __init__(self, urls: dict[str, str], token: str) -> None:
        self.urls = urls
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def post(self, service: str, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """POST with an idempotency key; retry 422 cooperative-not-member for a while."""
        deadline = time.monotonic() + 30
        while True:
            response = self.http.post(
                self.urls[service] + path, json=body, headers={"Idempotency-Key": key}
            )
            if response.status_code in (200, 201):
                result: dict[str, Any] = response.json()
                return result
            problem = response.json() if response.content else {}
            waiting = str(problem.get("type", "")).endswith("/cooperative-not-member")
            if waiting and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise RuntimeError(f"POST {path} → {response.status_code}: {problem.get('detail')}")

    def has_history(self) -> bool:
        """True when the membership service already holds cooperatives."""
        response = self.http.get(self.urls["membership"] + "/v1/cooperatives", params={"limit": 1})
        response.raise_for_status()
        return bool(response.json()["items"])


def record(client: DemoClient, plan: Plan) -> None:
    """Record the whole plan, in an order the services accept."""
    ids: list[str] = []
    for number, cooperative in enumerate(plan.cooperatives):
        ids.append(
            client.post("membership", "/v1/cooperatives", cooperative, f"demo-coop-{number}")["id"]
        )
    for number, left_on in plan.departures:
        client.post(
            "membership",
            f"/v1/cooperatives/{ids[number]}/departure",
            {"left_on": left_on.isoformat(), "reason": "fermeture"},
            f"demo-departure-{number}",
        )
    for number, rejoined_on in plan.readmissions:
        client.post(
            "membership",
            f"/v1/cooperatives/{ids[number]}/readmission",
            {"rejoined_on": rejoined_on.isoformat()},
            f"demo-readmission-{number}",
        )
    activity_ids = [
        client.post("events", "/v1/activities", activity, f"demo-activity-{index}")["id"]
        for index, activity in enumerate(plan.activities)
    ]
    for index, number, participants in plan.attendances:
        client.post(
            "events",
            f"/v1/activities/{activity_ids[index]}/attendances",
            {"cooperative_id": ids[number], "participants": participants},
            f"demo-attendance-{index}-{number}",
        )
    for order, (index, count, region) in enumerate(plan.public):
        body: dict[str, Any] = {"count": count}
        if region:
            body["region"] = region
        client.post(
            "events",
            f"/v1/activities/{activity_ids[index]}/public-attendance",
            body,
            f"demo-public-{order}",
        )
    for index in plan.cancelled:
        client.post(
            "events",
            f"/v1/activities/{activity_ids[index]}/cancellation",
            {"reason": "tempête"},
            f"demo-cancel-{index}",
        )
    ambassador_ids = []
    for index, ambassador in enumerate(plan.ambassadors):
        body = {
            "cooperative_id": ids[ambassador["cooperative"]],
            "name": ambassador["name"],
            "email": ambassador["email"],
            "enrolled_on": ambassador["enrolled_on"],
        }
        ambassador_ids.append(
            client.post("ambassadors", "/v1/ambassadors", body, f"demo-ambassador-{index}")["id"]
        )
    for order, (index, action) in enumerate(plan.actions):
        client.post(
            "ambassadors",
            f"/v1/ambassadors/{ambassador_ids[index]}/actions",
            action,
            f"demo-action-{order}",
        )
    for index, retired_on in plan.retirements:
        client.post(
            "ambassadors",
            f"/v1/ambassadors/{ambassador_ids[index]}/retirement",
            {"retired_on": retired_on.isoformat()},
            f"demo-retirement-{index}",
        )
    if "partnerships" in client.urls:
        record_partnerships(client, plan, ids)


DIRECTORY: tuple[tuple[str, str, str | None, list[str]], ...] = (
    ("Pôle d'économie sociale du Bas-Saint-Laurent", "economie_sociale", "01", []),
    ("Pôle d'économie sociale de la Capitale-Nationale", "economie_sociale", "03", []),
    ("Pôle d'économie sociale de l'Estrie", "economie_sociale", "05", []),
    ("Conseil québécois de la coopération et de la mutualité", "reseau_cooperatif", None,
     ["CQCM", "Agent.e.s jeunesse du CQCM"]),
    ("Cinéma Paraloeil", "autre", "01", []),
    ("CERSE", "recherche", None, []),
    ("Université du Québec à Montréal", "recherche", "06", ["UQAM"]),
    ("Développement économique régional (exemple) – Capitale-Nationale",
     "developpement_economique", "03", []),
    ("Développement économique régional (exemple) – Montréal",
     "developpement_economique", "06", []),
)  # fmt: skip
"""The partners the annual report names; invented names say "(exemple)"."""
RETAILERS = tuple(f"Détaillant spécialisé en bières (exemple) {n}" for n in range(1, 11))
TABLE_ACTIONS = (
    ("visibilite", "Présentoir des bières COOP chez les détaillants spécialisés", "2023-10-05"),
    ("representation", "Représentation auprès des détaillants spécialisés", "2023-11-16"),
    ("visibilite", "Dégustation des microbrasseries coopératives", "2024-03-09"),
)


def record_partnerships(client: DemoClient, plan: Plan, ids: list[str]) -> None:
    """The directory, the two research projects and the two sector tables (contract §9)."""
    partner_ids: dict[str, str] = {}
    for number, (name, kind, region, aliases) in enumerate(DIRECTORY):
        body: dict[str, Any] = {"name": name, "kind": kind, "aliases": aliases}
        if region:
            body["region"] = region
        partner_ids[name] = client.post(
            "partnerships", "/v1/partners", body, f"demo-partner-{number}"
        )["id"]
    retailers = [
        client.post(
            "partnerships", "/v1/partners", {"name": name, "kind": "detaillant", "region": "06"},
            f"demo-retailer-{number}",
        )["id"]
        for number, name in enumerate(RETAILERS)
    ]  # fmt: skip
    projects = (
        ("L'intégration de nouvelles compétences dans les reprises collectives", "CERSE",
         "2023-02-01"),
        ("Les modèles de gestion, de l'autogestion à la direction générale",
         "Université du Québec à Montréal", "2023-10-02"),
    )  # fmt: skip
    for number, (title, partner, started_on) in enumerate(projects):
        client.post(
            "partnerships", "/v1/research-projects",
            {"title": title, "partner_ids": [partner_ids[partner]], "started_on": started_on},
            f"demo-project-{number}",
        )  # fmt: skip
    brewers = client.post(
        "partnerships", "/v1/sector-tables",
        {"name": "Table des microbrasseries coopératives", "sector": "microbrasserie",
         "formed_on": "2022-11-01"},
        "demo-table-0",
    )["id"]  # fmt: skip
    client.post(
        "partnerships", "/v1/sector-tables",
        {"name": "Table des coopératives en communications (en démarrage)",
         "sector": "communications", "formed_on": "2024-05-15"},
        "demo-table-1",
    )  # fmt: skip
    members = [
        number
        for number, cooperative in enumerate(plan.cooperatives)
        if cooperative["sector"] == "microbrasserie" and cooperative["joined_on"] < "2023-09-01"
        and all(left > YEAR_END for n, left in plan.departures if n == number)
    ][:6]  # fmt: skip
    for number in members:
        client.post(
            "partnerships", f"/v1/sector-tables/{brewers}/members",
            {"cooperative_id": ids[number], "joined_on": "2023-09-01"},
            f"demo-table-member-{number}",
        )  # fmt: skip
    for number, (kind, title, performed_on) in enumerate(TABLE_ACTIONS):
        client.post(
            "partnerships", f"/v1/sector-tables/{brewers}/actions",
            {"kind": kind, "title": title, "performed_on": performed_on},
            f"demo-table-action-{number}",
        )  # fmt: skip
    for number, retailer in enumerate(retailers):
        placed_on = date(2023, 10 + number % 3, 1 + number)
        client.post(
            "partnerships", f"/v1/sector-tables/{brewers}/retail-placements",
            {"retailer_id": retailer, "started_on": placed_on.isoformat()},
            f"demo-placement-{number}",
        )  # fmt: skip


def wait_for_projection(reporting_url: str, timeout: float = 60) -> None:
    """Wait until the reporting service has applied every message of the three streams."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5) as http:
        while time.monotonic() < deadline:
            streams = http.get(reporting_url + "/v1/projections/status").json()["streams"]
            recorded = ("COOP_MEMBERSHIP", "COOP_EVENTS", "COOP_AMBASSADORS")  # not empty
            if all(s["lag"] == 0 for s in streams.values()) and all(
                streams[name]["stream_last_sequence"] > 0 for name in recorded if name in streams
            ):
                return
            time.sleep(0.1)
    raise RuntimeError("the reporting service did not catch up in time")


def indicator_table(answer: dict[str, Any]) -> str:
    """The indicators as an aligned text table."""
    lines = [f"Indicateurs {answer['fiscal_year']} (au {answer['as_of']})"]
    for name, value in answer["indicators"].items():
        if isinstance(value, dict):
            shown = ", ".join(f"{k}: {v}" for k, v in value.items() if v) or "—"
            lines.append(f"  {name:<38} {shown}")
        else:
            lines.append(f"  {name:<38} {value}")
    return "\n".join(lines)


def run_demo(supervisor: Supervisor) -> None:
    """Record the history unless the data dir has one, then print the figures and the URL."""
    urls = {name: supervisor.url(name) for name in supervisor.settings}
    print(f"console     {urls['console']}/  (staff: sign in with your token)", flush=True)
    token = _a_writer_token(supervisor)
    client = DemoClient(urls, token)
    if client.has_history():
        print("the data dir already holds a history: showing it", flush=True)
    else:
        started = time.monotonic()
        record(client, plan_history())
        print(f"demonstration history recorded in {time.monotonic() - started:.1f} s", flush=True)
    wait_for_projection(urls["reporting"])
    answer = httpx.get(f"{urls['reporting']}/v1/indicators/{FISCAL_YEAR}", timeout=30).json()
    print(indicator_table(answer), flush=True)
    print(f"dashboard   {urls['reporting']}/", flush=True)


def _a_writer_token(supervisor: Supervisor) -> str:
    """`COOP_DEMO_TOKEN` when set (a token with every write scope), else the development token."""
    return supervisor.environ.get("COOP_DEMO_TOKEN") or "dev-admin-token"
