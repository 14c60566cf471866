"""A fiscal year recorded with mistakes, then corrected through §10, counts as if recorded right.

Two platforms, each the four services as real processes on its own nats-server and data dir:
(a) records a small 2023-2024 year correctly; (b) records the same year with the mistakes staff
really make, then corrects each one through the public correction endpoints (§10). Indicators are
global, so the two years cannot share a platform. The indicators of (b) must then equal those of
(a) — for the whole year, at cut-offs inside it, and again after a projection rebuild of (b) —
and so must the ambassadors' final states and the activities' representations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.harness import Platform
from tests.support import NatsServer, wait_for

pytestmark = pytest.mark.e2e

YEAR = "2023-2024"
AS_OF = ("2023-10-31", "2024-01-31", "2024-04-30", "2024-06-30")
# Answered in both years' indicators with values that depend on the stream sequences and the
# moment the events were recorded, not on the records: the only part of the answer left out.
LEGITIMATELY_DIFFERENT = ("freshness",)
# Upper bounds of the polling waits, generous for a busy machine (they end as soon as met).
WAIT = 30


@dataclass
class Snapshot:
    """What one platform answers once its year is recorded (ids replaced by names)."""

    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    ambassadors: dict[str, dict[str, Any]] = field(default_factory=dict)
    activities: dict[str, dict[str, Any]] = field(default_factory=dict)


class Year:
    """Records one fiscal year through the public APIs of a running platform."""

    def __init__(self, platform: Platform) -> None:
        self.http = {name: process.client() for name, process in platform.services.items()}
        self.coops: dict[str, str] = {}
        self.activities: dict[str, str] = {}
        self.ambassadors: dict[str, str] = {}

    def close(self) -> None:
        for client in self.http.values():
            client.close()

    def call(self, service: str, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        """One request; fails the test unless it answers `expected`; returns the JSON body."""
        answer = self.http[service].request(method, path, **kwargs)
        assert answer.status_code == expected, f"{method} {path}: {answer.text}"
        return answer.json() if answer.content else None

    def until_member(self, service: str, path: str, body: dict[str, Any]) -> Any:
        """POST that the service refuses while it does not yet know the membership (§3, §4)."""
        answers: list[httpx.Response] = []

        def known() -> bool:
            answers.append(self.http[service].post(path, json=body))
            refused = answers[-1].status_code == 422
            return not (refused and answers[-1].json()["type"].endswith("/cooperative-not-member"))

        wait_for(known, WAIT, 0.1)
        assert answers[-1].status_code in (200, 201), f"POST {path}: {answers[-1].text}"
        return answers[-1].json()

    # membership
    def join(self, name: str, joined_on: str, region: str, sector: str, workers: int) -> str:
        body = {
            "name": name,
            "region": region,
            "sector": sector,
            "worker_members": workers,
            "joined_on": joined_on,
        }
        created = self.call("membership", "POST", "/v1/cooperatives", 201, json=body)
        self.coops[name] = created["id"]
        return str(created["id"])

    def leave(self, name: str, left_on: str) -> None:
        path = f"/v1/cooperatives/{self.coops[name]}/departure"
        self.call("membership", "POST", path, 200, json={"left_on": left_on})

    # events
    def schedule(
        self,
        title: str,
        type_: str,
        date: str,
        format_: str = "in_person",
        region: str | None = None,
        partners: list[str] | None = None,
    ) -> str:
        body: dict[str, Any] = {"type": type_, "title": title, "date": date, "format": format_}
        if region is not None:
            body["region"] = region
        if partners is not None:
            body["partners"] = partners
        created = self.call("events", "POST", "/v1/activities", 201, json=body)
        self.activities[title] = created["id"]
        return str(created["id"])

    def attend(self, title: str, coop: str, participants: int) -> None:
        path = f"/v1/activities/{self.activities[title]}/attendances"
        body = {"cooperative_id": self.coops[coop], "participants": participants}
        self.until_member("events", path, body)

    def public(self, title: str, count: int, region: str) -> str:
        path = f"/v1/activities/{self.activities[title]}/public-attendance"
        created = self.call("events", "POST", path, 201, json={"count": count, "region": region})
        return str(created["id"])

    def cancel(self, title: str) -> None:
        path = f"/v1/activities/{self.activities[title]}/cancellation"
        self.call("events", "POST", path, 200, json={})

    # ambassadors
    def enroll(self, name: str, coop: str, enrolled_on: str) -> str:
        body = {
            "cooperative_id": self.coops[coop],
            "name": name,
            "email": f"{name.lower().replace('é', 'e')}@example.org",
            "enrolled_on": enrolled_on,
        }
        created = self.until_member("ambassadors", "/v1/ambassadors", body)
        self.ambassadors[name] = created["id"]
        return str(created["id"])

    def act(
        self, name: str, kind: str, performed_on: str, people: int, activity: str | None = None
    ) -> str:
        body: dict[str, Any] = {
            "kind": kind,
            "performed_on": performed_on,
            "people_reached": people,
        }
        if activity is not None:
            body["activity_id"] = self.activities[activity]
        path = f"/v1/ambassadors/{self.ambassadors[name]}/actions"
        return str(self.call("ambassadors", "POST", path, 201, json=body)["id"])

    def retire(self, name: str, retired_on: str) -> None:
        path = f"/v1/ambassadors/{self.ambassadors[name]}/retirement"
        self.call("ambassadors", "POST", path, 200, json={"retired_on": retired_on})

    def ambassador(self, name: str) -> dict[str, Any]:
        path = f"/v1/ambassadors/{self.ambassadors[name]}"
        return dict(self.call("ambassadors", "GET", path, 200))

    def wait_for_ambassador(self, name: str, status: str, ended_on: str | None) -> None:
        """Wait for the ambassadors service's policy (§4, §10) to bring an ambassador there."""

        def there() -> bool:
            now = self.ambassador(name)
            return bool(now["status"] == status and now["ended_on"] == ended_on)

        wait_for(there, WAIT, 0.1)

    # reading back
    def settle(self) -> None:
        """Wait until every recorded event is on its stream and projected by reporting.

        A resource's `version` is the number of its events (§1), so each service's stream must
        reach the sum of its resources' versions (plus the sector list on the membership stream)
        and the projection must have applied it all.
        """

        def caught_up() -> bool:
            recorded = self.recorded_events()
            status = self.call("reporting", "GET", "/v1/projections/status", 200)
            return not status["rebuilding"] and all(
                status["streams"][stream]["stream_last_sequence"] >= count
                and status["streams"][stream]["last_applied"]
                == status["streams"][stream]["stream_last_sequence"]
                for stream, count in recorded.items()
            )

        wait_for(caught_up, 2 * WAIT, 0.1)

    def recorded_events(self) -> dict[str, int]:
        """How many events each service has recorded, from its resources' versions."""
        coops = self.list("membership", "/v1/cooperatives")
        coops += self.list("membership", "/v1/cooperatives", status="voided")
        sectors = self.call("membership", "GET", "/v1/sectors", 200)["items"]
        return {
            "COOP_MEMBERSHIP": len(sectors) + sum(c["version"] for c in coops),
            "COOP_EVENTS": sum(a["version"] for a in self.list("events", "/v1/activities")),
            "COOP_AMBASSADORS": sum(
                a["version"] for a in self.list("ambassadors", "/v1/ambassadors")
            ),
        }

    def list(self, service: str, path: str, **params: str) -> list[dict[str, Any]]:
        page = self.call(service, "GET", path, 200, params={"limit": "1000", **params})
        assert page["next_cursor"] is None
        return list(page["items"])

    def indicators(self, fiscal_year: str = YEAR, as_of: str | None = None) -> dict[str, Any]:
        """The whole indicators answer, less what legitimately differs between two platforms."""
        params = {"as_of": as_of} if as_of else {}
        path = f"/v1/indicators/{fiscal_year}"
        answer = self.call("reporting", "GET", path, 200, params=params)
        return {k: v for k, v in answer.items() if k not in LEGITIMATELY_DIFFERENT}

    def all_indicators(self) -> dict[str, dict[str, Any]]:
        """The year's indicators at its end and at each cut-off, and the next year's."""
        answers = {f"{YEAR} as of {day}": self.indicators(as_of=day) for day in AS_OF}
        answers[YEAR] = self.indicators()
        answers["2024-2025"] = self.indicators("2024-2025")
        return answers

    def snapshot(self) -> Snapshot:
        """The indicators, ambassadors and activities, with names in place of ids."""
        names = {id_: name for name, id_ in self.coops.items()}
        titles = {id_: title for title, id_ in self.activities.items()}
        voided = {c["id"] for c in self.list("membership", "/v1/cooperatives", status="voided")}
        ambassadors = {}
        for amb in self.list("ambassadors", "/v1/ambassadors"):
            if amb["cooperative_id"] in voided:
                continue
            actions = self.list("ambassadors", f"/v1/ambassadors/{amb['id']}/actions")
            ambassadors[amb["name"]] = {
                **{k: amb[k] for k in ("email", "enrolled_on", "status", "ended_on", "erased")},
                "cooperative": names[amb["cooperative_id"]],
                "actions": amb["actions"],
                "action_records": sorted(
                    (
                        a["kind"],
                        a["performed_on"],
                        titles.get(a["activity_id"]),
                        a["people_reached"],
                    )
                    for a in actions
                ),
            }
        activities = {}
        for activity in self.list("events", "/v1/activities"):
            path = f"/v1/activities/{activity['id']}"
            records = self.list("events", f"{path}/attendances")
            # §16.6: a voided cooperative's attendance stays in the activity's own count and
            # list; the comparable part is the rest.
            assert activity["member_attendances"] == len(records)
            attendances = [
                (names[a["cooperative_id"]], a["participants"])
                for a in records
                if a["cooperative_id"] not in voided
            ]
            publics = self.list("events", f"{path}/public-attendance")
            activities[activity["title"]] = {
                **{k: v for k, v in activity.items() if k not in ("id", "version")},
                "member_attendances": len(attendances),
                "attendances": sorted(attendances),
                "public_records": sorted((p["count"], p["region"]) for p in publics),
            }
        return Snapshot(self.all_indicators(), ambassadors, activities)


@contextmanager
def running_platform(root: Path) -> Iterator[Year]:
    """Four services as real processes on their own nats-server, under `root`."""
    nats = NatsServer(root / "nats").start()
    platform = Platform(root, nats.url)
    try:
        platform.start(timeout=90)  # the machine may be busy
        year = Year(platform)
        try:
            yield year
        finally:
            year.close()
    finally:
        platform.stop()
        nats.stop()


# The year: cooperatives, activities and ambassadors, by name.
ALPHA, BOREALE, CEDRE, DELTA, ERABLE = (
    "Coop Alpha",
    "Coop Boréale",
    "Coop Cèdre",
    "Coop Delta",
    "Coop Érable",
)
FORMATION = "Formation gouvernance"
CINE_RIMOUSKI = "Ciné-discussion à Rimouski"
PARCOURS = "Parcours COOP Québec"
CINE_MONTREAL = "Ciné-discussion à Montréal"
RESEAUTAGE = "Réseautage du printemps"
COURTEPOINTE = "Courtepointe d'hiver"
SERVICE_CONSEIL = "Service-conseil en gestion"
CONFERENCE = "Conférence annulée"


def record_the_start(year: Year, *, c_joined_on: str) -> None:
    """What both records of the year share at first: cooperatives and the first activities."""
    year.join(ALPHA, "2023-05-10", "06", "microbrasserie", 8)
    year.join(BOREALE, "2023-10-02", "01", "informatique", 5)
    year.join(CEDRE, c_joined_on, "03", "alimentation", 12)
    year.join(DELTA, "2023-09-20", "06", "construction", 4)
    year.join(ERABLE, "2022-06-01", "12", "restauration", 6)
    year.schedule(FORMATION, "formation", "2023-10-15", region="06")
    year.schedule(
        CINE_RIMOUSKI,
        "cine_discussion",
        "2023-11-20",
        region="01",
        partners=["Pôle d'économie sociale du Bas-Saint-Laurent"],
    )
    year.schedule(PARCOURS, "parcours_coop", "2024-02-10", region="03")
    year.schedule(
        CINE_MONTREAL, "cine_discussion", "2024-03-05", "hybrid", region="06", partners=["CQCM"]
    )
    year.schedule(COURTEPOINTE, "courtepointe", "2024-01-20", "remote")
    year.schedule(SERVICE_CONSEIL, "service_conseil", "2024-05-15", region="06")
    year.schedule(CONFERENCE, "conference", "2024-06-05", region="06")
    for coop, participants in ((ALPHA, 3), (BOREALE, 2), (DELTA, 1), (ERABLE, 2)):
        year.attend(FORMATION, coop, participants)
    year.attend(CINE_RIMOUSKI, BOREALE, 1)
    year.attend(PARCOURS, CEDRE, 2)
    year.attend(COURTEPOINTE, DELTA, 1)
    year.attend(SERVICE_CONSEIL, ALPHA, 1)
    year.public(PARCOURS, 12, "03")
    year.public(CINE_MONTREAL, 10, "13")
    year.cancel(CONFERENCE)
    year.enroll("Camille", ALPHA, "2023-06-01")
    year.enroll("Léa", CEDRE, "2024-02-01")
    year.enroll("Noah", DELTA, "2023-10-01")
    year.enroll("Rose", ERABLE, "2023-01-10")
    year.enroll("Yves", ALPHA, "2023-08-15")
    year.act("Camille", "presentation", "2023-10-01", 30)
    year.act("Léa", "presentation", "2024-03-10", 20)
    year.act("Noah", "autre", "2023-11-05", 5)
    year.act("Rose", "kiosque", "2023-09-15", 10)
    year.act("Yves", "presentation", "2024-01-10", 8)


def record_the_end(year: Year) -> None:
    """What both records of the year share last: a real departure and a real retirement."""
    year.leave(ERABLE, "2024-04-30")
    year.wait_for_ambassador("Rose", "deactivated", "2024-04-30")
    year.retire("Yves", "2024-06-30")


def record_correctly(year: Year) -> None:
    """(a) The year as it happened."""
    record_the_start(year, c_joined_on="2024-01-15")
    year.schedule(RESEAUTAGE, "reseautage", "2024-04-10", region="06")
    year.attend(RESEAUTAGE, ALPHA, 4)
    year.public(CINE_RIMOUSKI, 100, "01")
    year.public(CINE_MONTREAL, 25, "06")
    year.enroll("Jules", BOREALE, "2023-10-15")
    year.act("Jules", "mentorat", "2023-12-10", 3)
    year.act("Camille", "cine_discussion", "2023-11-20", 40, activity=CINE_RIMOUSKI)
    year.act("Camille", "kiosque", "2024-03-01", 15)
    record_the_end(year)


def record_with_mistakes(year: Year) -> dict[str, str]:
    """(b) The same year as staff typed it, mistakes included; returns the ids to correct."""
    wrong: dict[str, str] = {}
    record_the_start(year, c_joined_on="2023-11-15")  # joined on 2024-01-15
    wrong["duplicate"] = year.join("Coop Boréale (doublon)", "2023-10-02", "01", "informatique", 5)
    year.attend(CINE_RIMOUSKI, "Coop Boréale (doublon)", 2)
    year.enroll("Zoé", "Coop Boréale (doublon)", "2023-11-01")
    year.act("Zoé", "presentation", "2023-11-05", 50)
    year.leave(DELTA, "2024-02-01")  # Delta never left
    year.wait_for_ambassador("Noah", "deactivated", "2024-02-01")
    year.attend(SERVICE_CONSEIL, BOREALE, 3)  # Boréale was not there
    year.schedule(RESEAUTAGE, "conference", "2024-09-10", region="06")  # reseautage, 2024-04-10
    year.attend(RESEAUTAGE, ALPHA, 7)  # 4 participants
    wrong["public_1000"] = year.public(CINE_RIMOUSKI, 1000, "01")  # 100
    wrong["public_misplaced"] = year.public(PARCOURS, 25, "06")  # meant for Montréal
    year.cancel(COURTEPOINTE)  # it did take place
    year.enroll("Jules", BOREALE, "2023-12-01")  # enrolled on 2023-10-15
    year.act("Jules", "mentorat", "2023-12-10", 3)
    wrong["people_400"] = year.act(
        "Camille", "cine_discussion", "2023-11-20", 400, activity=CINE_RIMOUSKI
    )  # 40 people reached
    year.act("Camille", "kiosque", "2024-03-01", 15)
    wrong["kiosque_twice"] = year.act("Camille", "kiosque", "2024-03-01", 15)
    year.retire("Léa", "2024-05-01")  # Léa never retired
    record_the_end(year)
    return wrong


def correct_the_mistakes(year: Year, wrong: dict[str, str]) -> None:
    """(b) Every mistake corrected through the §10 endpoints."""
    reason = {"reason": "saisie erronée"}
    coop, activity, amb = year.coops, year.activities, year.ambassadors
    year.call(
        "membership",
        "POST",
        f"/v1/cooperatives/{coop[CEDRE]}/membership-correction",
        200,
        json={"periods": [{"start": "2024-01-15", "end": None}], **reason},
    )
    year.call(
        "membership",
        "POST",
        f"/v1/cooperatives/{coop[DELTA]}/membership-correction",
        200,
        json={"periods": [{"start": "2023-09-20", "end": None}], **reason},
    )
    voided = year.call(
        "membership",
        "POST",
        f"/v1/cooperatives/{wrong['duplicate']}/void",
        200,
        json={"reason": "doublon de Coop Boréale"},
    )
    assert voided["status"] == "voided"
    year.call(
        "events",
        "DELETE",
        f"/v1/activities/{activity[SERVICE_CONSEIL]}/attendances/{coop[BOREALE]}",
        204,
        params=reason,
    )
    year.call(
        "events",
        "PATCH",
        f"/v1/activities/{activity[RESEAUTAGE]}/attendances/{coop[ALPHA]}",
        200,
        json={"participants": 4, **reason},
    )
    year.call(
        "events",
        "PATCH",
        f"/v1/activities/{activity[CINE_RIMOUSKI]}/public-attendance/{wrong['public_1000']}",
        200,
        json={"count": 100, **reason},
    )
    year.call(
        "events",
        "DELETE",
        f"/v1/activities/{activity[PARCOURS]}/public-attendance/{wrong['public_misplaced']}",
        204,
        params=reason,
    )
    year.public(CINE_MONTREAL, 25, "06")
    year.call(
        "events",
        "PATCH",
        f"/v1/activities/{activity[RESEAUTAGE]}",
        200,
        json={"type": "reseautage", "date": "2024-04-10"},
    )
    year.call(
        "events", "POST", f"/v1/activities/{activity[COURTEPOINTE]}/reinstatement", 200, json=reason
    )
    year.call(
        "ambassadors",
        "PATCH",
        f"/v1/ambassadors/{amb['Camille']}/actions/{wrong['people_400']}",
        200,
        json={"people_reached": 40, **reason},
    )
    year.call(
        "ambassadors",
        "DELETE",
        f"/v1/ambassadors/{amb['Camille']}/actions/{wrong['kiosque_twice']}",
        204,
        params=reason,
    )
    year.call(
        "ambassadors",
        "PATCH",
        f"/v1/ambassadors/{amb['Jules']}",
        200,
        json={"enrolled_on": "2023-10-15"},
    )
    year.call("ambassadors", "POST", f"/v1/ambassadors/{amb['Léa']}/reactivation", 200, json=reason)
    # The policy (§10) undoes the deactivation that the mistaken departure caused, and ends
    # the duplicate's ambassador on her enrollment day.
    year.wait_for_ambassador("Noah", "active", None)
    year.wait_for_ambassador("Zoé", "deactivated", "2023-11-01")


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> dict[str, Any]:
    """Each key whose value differs, with both values (one level into nested objects)."""
    found: dict[str, Any] = {}
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key), actual.get(key)
        if want == got:
            continue
        if isinstance(want, dict) and isinstance(got, dict):
            found[key] = differences(want, got)
        else:
            found[key] = {"expected": want, "actual": got}
    return found


def assert_same(expected: dict[str, Any], actual: dict[str, Any], what: str) -> None:
    assert actual == expected, f"{what} differ: {differences(expected, actual)}"


def rebuild(year: Year) -> None:
    """POST /v1/projections/rebuild and wait until it is done and caught up again."""
    year.call("reporting", "POST", "/v1/projections/rebuild", 202)
    year.settle()


def test_a_year_recorded_with_mistakes_then_corrected_counts_as_the_year_recorded_right(
    tmp_path: Path,
) -> None:
    with running_platform(tmp_path / "year-right") as right:
        record_correctly(right)
        right.settle()
        expected = right.snapshot()
    assert expected.indicators[YEAR]["indicators"]["members.total"] == 4  # Érable left

    with running_platform(tmp_path / "year-corrected") as year:
        wrong = record_with_mistakes(year)
        year.settle()
        mistaken = year.snapshot()
        for label in expected.indicators:
            assert mistaken.indicators[label] != expected.indicators[label], label
        assert mistaken.ambassadors != expected.ambassadors
        assert mistaken.activities != expected.activities

        correct_the_mistakes(year, wrong)
        year.settle()
        corrected = year.snapshot()
        for label, answer in expected.indicators.items():
            assert_same(answer, corrected.indicators[label], f"indicators {label}")
        assert_same(expected.ambassadors, corrected.ambassadors, "ambassadors")
        assert_same(expected.activities, corrected.activities, "activities")

        rebuild(year)
        rebuilt = year.all_indicators()
        for label, answer in expected.indicators.items():
            assert_same(answer, rebuilt[label], f"indicators {label} after a rebuild")
