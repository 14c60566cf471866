"""The events service learns membership from the real membership service, over NATS."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support import NatsServer, ServiceProcess, stream_messages, wait_for

TRACKING = "COOP_MEMBERSHIP:events-membership"
NOVEMBER_FORMATION = "2023-11-15"


class Network:
    """The real membership and events services, each with its own data directory."""

    def __init__(self, root: Path, nats: NatsServer) -> None:
        self.nats = nats
        self.membership = ServiceProcess("membership", root / "membership", nats.url).start()
        self.events = ServiceProcess("events", root / "events", nats.url).start()
        self.members = self.membership.client()
        self.http = self.events.client()

    @property
    def events_database(self) -> Path:
        return self.events.data_dir / "events.sqlite3"

    def join(self, joined_on: str) -> str:
        response = self.members.post(
            "/v1/cooperatives",
            json={
                "name": f"Coop {uuid4().hex[:8]}",
                "region": "03",
                "sector": "fabrication",
                "worker_members": 5,
                "joined_on": joined_on,
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def leave(self, cooperative_id: str, left_on: str) -> None:
        response = self.members.post(
            f"/v1/cooperatives/{cooperative_id}/departure", json={"left_on": left_on}
        )
        assert response.status_code == 200, response.text

    def readmit(self, cooperative_id: str, rejoined_on: str) -> None:
        response = self.members.post(
            f"/v1/cooperatives/{cooperative_id}/readmission", json={"rejoined_on": rejoined_on}
        )
        assert response.status_code == 200, response.text

    def correct(self, cooperative_id: str, *periods: tuple[str, str | None]) -> None:
        response = self.members.post(
            f"/v1/cooperatives/{cooperative_id}/membership-correction",
            json={"periods": [{"start": start, "end": end} for start, end in periods]},
        )
        assert response.status_code == 200, response.text

    def void(self, cooperative_id: str) -> None:
        response = self.members.post(
            f"/v1/cooperatives/{cooperative_id}/void", json={"reason": "doublon"}
        )
        assert response.status_code == 200, response.text

    def restore(self, cooperative_id: str) -> None:
        response = self.members.post(f"/v1/cooperatives/{cooperative_id}/restoration", json={})
        assert response.status_code == 200, response.text

    def schedule(self, date: str) -> str:
        response = self.http.post(
            "/v1/activities",
            json={"type": "formation", "title": "Formation", "date": date, "format": "remote"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def attend(self, activity_id: str, cooperative_id: str) -> httpx.Response:
        return self.http.post(
            f"/v1/activities/{activity_id}/attendances", json={"cooperative_id": cooperative_id}
        )

    def caught_up(self) -> None:
        """Wait until the events service has applied every membership event recorded so far.

        Every event stored by the membership service is first awaited on the stream, so that
        an event recorded but not yet relayed is not missed.
        """
        recorded = stored_events(self.membership.data_dir / "membership.sqlite3")
        wait_for(
            lambda: len(asyncio.run(stream_messages(self.nats.url, "COOP_MEMBERSHIP"))) >= recorded
        )
        wait_for(lambda: tracking_position(self.events_database) >= recorded)

    def stop(self) -> None:
        self.events.stop()
        self.membership.stop()


def stored_events(database: Path) -> int:
    """How many events the membership service has recorded in its store."""
    with closing(sqlite3.connect(database, timeout=5)) as conn:
        return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])


def tracking_position(database: Path) -> int:
    """The last COOP_MEMBERSHIP sequence the events service recorded as applied."""
    with closing(sqlite3.connect(database, timeout=5)) as conn:
        row = conn.execute(
            "SELECT position FROM coop_tracking WHERE name = ?", (TRACKING,)
        ).fetchone()
    return int(row[0]) if row else 0


def view_periods(database: Path) -> dict[str, list[dict[str, Any]]]:
    """The events service's membership view, as `{cooperative_id: [{start, end}]}`."""
    with closing(sqlite3.connect(database, timeout=5)) as conn:
        rows = conn.execute("SELECT cooperative_id, periods FROM member_periods").fetchall()
    return {
        cooperative_id: [{"start": start, "end": end} for start, end in json.loads(periods)]
        for cooperative_id, periods in rows
    }


def parked(database: Path) -> int:
    with closing(sqlite3.connect(database, timeout=5)) as conn:
        return int(conn.execute("SELECT count(*) FROM coop_parked_messages").fetchone()[0])


def applied_by_this_process(events: ServiceProcess) -> float:
    """Membership messages the running events process has applied since it started."""
    metrics = events.client().get("/metrics").text
    prefix = 'coop_consumer_applied_messages_total{consumer="events-membership"}'
    values = [
        float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith(prefix)
    ]
    return values[0] if values else 0.0


@pytest.fixture
def network(tmp_path: Path, nats_server: NatsServer) -> Iterator[Network]:
    network = Network(tmp_path, nats_server)
    try:
        yield network
    finally:
        network.stop()


def test_membership_periods_published_by_membership_decide_who_attends(network: Network) -> None:
    left_in_january = network.join("2022-03-01")
    network.leave(left_in_january, "2024-01-15")
    lapsed = network.join("2021-01-01")
    network.leave(lapsed, "2023-06-01")
    readmitted_too_late = network.join("2021-01-01")
    network.leave(readmitted_too_late, "2023-06-01")
    newcomer = network.join("2023-11-16")
    left_that_day = network.join("2020-01-01")
    network.leave(left_that_day, NOVEMBER_FORMATION)
    formation = network.schedule(NOVEMBER_FORMATION)
    network.caught_up()

    assert network.attend(formation, left_in_january).status_code == 201
    for outsider in (lapsed, readmitted_too_late, newcomer, left_that_day, str(uuid4())):
        response = network.attend(formation, outsider)
        assert response.status_code == 422, response.text
        assert response.json()["type"].endswith("/cooperative-not-member")

    network.readmit(lapsed, "2023-10-01")
    network.readmit(readmitted_too_late, "2023-12-01")
    wait_for(lambda: network.attend(formation, lapsed).status_code == 201)
    network.caught_up()
    refused = network.attend(formation, readmitted_too_late)
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/cooperative-not-member")

    activity = network.http.get(f"/v1/activities/{formation}").json()
    assert activity["member_attendances"] == 2


def refused_as_not_member(response: httpx.Response) -> bool:
    return response.status_code == 422 and response.json()["type"].endswith(
        "/cooperative-not-member"
    )


def test_the_events_service_judges_attendance_on_corrected_and_voided_membership(
    network: Network,
) -> None:
    corrected = network.join("2022-03-01")
    voided = network.join("2022-03-01")
    first, second = network.schedule(NOVEMBER_FORMATION), network.schedule(NOVEMBER_FORMATION)
    network.caught_up()
    assert network.attend(first, corrected).status_code == 201
    assert network.attend(first, voided).status_code == 201

    network.correct(corrected, ("2022-03-01", "2023-06-01"), ("2024-01-01", None))
    network.void(voided)
    network.caught_up()

    assert refused_as_not_member(network.attend(second, corrected))
    assert refused_as_not_member(network.attend(second, voided))

    network.restore(voided)
    network.correct(corrected, ("2022-03-01", None))
    network.caught_up()

    assert network.attend(second, voided).status_code == 201
    assert network.attend(second, corrected).status_code == 201
    assert view_periods(network.events_database)[voided] == [{"start": "2022-03-01", "end": None}]
    assert parked(network.events_database) == 0


def test_a_killed_events_service_resumes_the_membership_stream_exactly_once(
    network: Network,
) -> None:
    cooperatives: list[str] = []
    halfway = threading.Event()

    def record_membership_changes() -> None:
        for n in range(40):
            cooperative_id = network.join(f"2020-{n % 12 + 1:02d}-01")
            if n % 2 == 0:
                network.leave(cooperative_id, "2023-03-01")
            if n % 4 == 0:
                network.readmit(cooperative_id, "2023-09-01")
            cooperatives.append(cooperative_id)
            if n == 15:
                halfway.set()

    writer = threading.Thread(target=record_membership_changes)
    writer.start()
    assert halfway.wait(30)
    wait_for(lambda: tracking_position(network.events_database) > 0)
    network.events.kill()  # SIGKILL while membership messages keep arriving
    applied_before_kill = tracking_position(network.events_database)
    writer.join(60)
    assert not writer.is_alive()

    network.events.start()
    network.caught_up()
    on_stream = len(asyncio.run(stream_messages(network.nats.url, "COOP_MEMBERSHIP")))
    assert applied_before_kill < on_stream

    expected = {
        cooperative_id: network.members.get(f"/v1/cooperatives/{cooperative_id}").json()["periods"]
        for cooperative_id in cooperatives
    }
    assert view_periods(network.events_database) == expected
    assert parked(network.events_database) == 0
    resumed = on_stream - applied_before_kill
    wait_for(lambda: applied_by_this_process(network.events) >= resumed)
    assert applied_by_this_process(network.events) == resumed

    formation = network.schedule("2023-11-15")
    last_joined = cooperatives[-1]  # recorded while the events service was down or resuming
    assert network.attend(formation, last_joined).status_code == 201
