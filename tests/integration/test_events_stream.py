"""What the events service publishes on `COOP_EVENTS` (contract §7), on a real nats-server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from shared.contracts.membership import MEMBERSHIP
from shared.messaging import Messaging
from tests.support import NatsServer, ServiceProcess, stream_messages, wait_for

ENVELOPE = {
    "event_id",
    "event_type",
    "schema_version",
    "aggregate_id",
    "aggregate_version",
    "occurred_at",
    "correlation_id",
    "causation_id",
    "data",
}


@pytest.fixture
def events(tmp_path: Path, nats_server: NatsServer) -> Iterator[ServiceProcess]:
    service = ServiceProcess("events", tmp_path / "events", nats_server.url).start()
    try:
        yield service
    finally:
        service.stop()


def published(nats: NatsServer, count: int) -> list[dict[str, Any]]:
    """The messages on COOP_EVENTS once there are at least `count` of them."""

    def fetch() -> list[dict[str, Any]] | None:
        try:
            messages = asyncio.run(stream_messages(nats.url, "COOP_EVENTS"))
        except Exception:  # the stream is not there yet
            return None
        return messages if len(messages) >= count else None

    found: list[dict[str, Any]] = wait_for(fetch)
    return found


def publish_member_joined(nats: NatsServer, cooperative_id: str) -> None:
    """Put a `CoopJoined` on COOP_MEMBERSHIP, as the membership service would."""

    async def publish() -> None:
        messaging = Messaging(nats.url, name="test-membership")
        await messaging.connect()
        try:
            await messaging.ensure_stream(MEMBERSHIP)
            js = await messaging.jetstream()
            event_id = str(uuid4())
            envelope = {
                "event_id": event_id,
                "event_type": "CoopJoined",
                "schema_version": 1,
                "aggregate_id": cooperative_id,
                "aggregate_version": 1,
                "occurred_at": "2024-01-05T10:00:00Z",
                "correlation_id": event_id,
                "causation_id": None,
                "data": {
                    "cooperative_id": cooperative_id,
                    "name": "Coop",
                    "region": "01",
                    "sector": "cinema",
                    "worker_members": 3,
                    "joined_on": "2020-01-01",
                    "neq": None,
                },
            }
            await js.publish(
                "coop.membership.CoopJoined",
                json.dumps(envelope).encode(),
                headers={"Nats-Msg-Id": event_id},
            )
        finally:
            await messaging.close()

    asyncio.run(publish())


def test_every_change_is_published_once_in_commit_order_with_the_contract_envelope(
    events: ServiceProcess, nats_server: NatsServer
) -> None:
    http = events.client()
    correlation = str(uuid4())
    cooperative_id = str(uuid4())
    publish_member_joined(nats_server, cooperative_id)
    scheduled = http.post(
        "/v1/activities",
        json={
            "type": "cine_discussion",
            "title": "(R)évolution",
            "date": "2023-10-12",
            "format": "hybrid",
            "region": "01",
            "partners": ["Pôle d'économie sociale"],
        },
        headers={"X-Correlation-Id": correlation},
    ).json()
    activity = scheduled["id"]
    attend = f"/v1/activities/{activity}/attendances"

    def attended() -> int | None:
        # The events service learns memberships from NATS: a client retries the 422.
        answer = http.post(attend, json={"cooperative_id": cooperative_id, "participants": 4})
        return None if answer.status_code == 422 else answer.status_code

    assert wait_for(attended, timeout=20, interval=0.1) == 201
    assert http.post(attend, json={"cooperative_id": cooperative_id}).status_code == 200
    public = f"/v1/activities/{activity}/public-attendance"
    sixty = http.post(public, json={"count": 60, "region": "01"})
    fifteen = http.post(public, json={"count": 15})
    assert (sixty.status_code, fifteen.status_code) == (201, 201)
    assert (
        http.post(f"/v1/activities/{activity}/cancellation", json={"reason": "panne"}).status_code
        == 200
    )
    corrections = [
        http.post(f"/v1/activities/{activity}/reinstatement", json={"reason": "réparée"}),
        http.patch(f"/v1/activities/{activity}", json={"title": "(R)évolution, Rimouski"}),
        http.patch(f"{attend}/{cooperative_id}", json={"participants": 5, "reason": "liste"}),
        http.delete(f"{attend}/{cooperative_id}", params={"reason": "doublon"}),
        http.patch(f"{public}/{sixty.json()['id']}", json={"count": 62}),
        http.delete(f"{public}/{fifteen.json()['id']}"),
    ]
    assert [c.status_code for c in corrections] == [200, 200, 200, 204, 200, 204]
    other = http.post(
        "/v1/activities",
        json={
            "type": "parcours_coop",
            "title": "Parcours",
            "date": "2024-02-01",
            "format": "remote",
        },
    ).json()["id"]

    messages = published(nats_server, 12)
    assert len(messages) == 12
    bodies = [m["body"] for m in messages]
    assert [(b["aggregate_id"], b["aggregate_version"], b["event_type"]) for b in bodies] == [
        (activity, 1, "ActivityScheduled"),
        (activity, 2, "ActivityAttended"),
        (activity, 3, "PublicAttendanceRecorded"),
        (activity, 4, "PublicAttendanceRecorded"),
        (activity, 5, "ActivityCancelled"),
        (activity, 6, "ActivityReinstated"),
        (activity, 7, "ActivityRevised"),
        (activity, 8, "AttendanceCorrected"),
        (activity, 9, "AttendanceWithdrawn"),
        (activity, 10, "PublicAttendanceCorrected"),
        (activity, 11, "PublicAttendanceWithdrawn"),
        (other, 1, "ActivityScheduled"),
    ]
    for message in messages:
        body = message["body"]
        assert set(body) == ENVELOPE
        assert message["subject"] == f"coop.events.{body['event_type']}"
        assert message["headers"]["Nats-Msg-Id"] == body["event_id"]
        assert UUID(body["event_id"]) and UUID(body["correlation_id"])
        expected_version = 2 if body["event_type"] == "PublicAttendanceRecorded" else 1
        assert body["schema_version"] == expected_version
        assert body["occurred_at"].endswith("Z")
        datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
    assert len({b["event_id"] for b in bodies}) == 12
    assert bodies[0]["correlation_id"] == correlation
    assert [b["data"] for b in bodies] == [
        {
            "activity_id": activity,
            "type": "cine_discussion",
            "title": "(R)évolution",
            "date": "2023-10-12",
            "format": "hybrid",
            "region": "01",
            "partners": ["Pôle d'économie sociale"],
        },
        {
            "activity_id": activity,
            "cooperative_id": cooperative_id,
            "participants": 4,
            "activity_type": "cine_discussion",
            "activity_date": "2023-10-12",
        },
        {"activity_id": activity, "record_id": sixty.json()["id"], "count": 60, "region": "01"},
        {"activity_id": activity, "record_id": fifteen.json()["id"], "count": 15, "region": None},
        {"activity_id": activity, "reason": "panne"},
        {"activity_id": activity, "reason": "réparée"},
        {"activity_id": activity, "changes": {"title": "(R)évolution, Rimouski"}, "reason": None},
        {
            "activity_id": activity,
            "cooperative_id": cooperative_id,
            "participants": 5,
            "reason": "liste",
        },
        {"activity_id": activity, "cooperative_id": cooperative_id, "reason": "doublon"},
        {
            "activity_id": activity,
            "record_id": sixty.json()["id"],
            "count": 62,
            "region": "01",
            "reason": None,
        },
        {"activity_id": activity, "record_id": fifteen.json()["id"], "reason": None},
        {
            "activity_id": other,
            "type": "parcours_coop",
            "title": "Parcours",
            "date": "2024-02-01",
            "format": "remote",
            "region": None,
            "partners": [],
        },
    ]


def test_a_killed_service_republishes_nothing_and_publishes_what_came_after(
    events: ServiceProcess, nats_server: NatsServer
) -> None:
    http = events.client()
    body = {"type": "reseautage", "title": "5 à 7", "date": "2023-12-07", "format": "remote"}
    first = [http.post("/v1/activities", json=body).json()["id"] for _ in range(3)]
    published(nats_server, 3)
    events.kill()
    events.start()
    later = events.client().post("/v1/activities", json=body).json()["id"]
    messages = published(nats_server, 4)
    assert [m["body"]["aggregate_id"] for m in messages] == [*first, later]


def test_commands_succeed_while_nats_is_down_and_publication_resumes(
    events: ServiceProcess, nats_server: NatsServer
) -> None:
    http = events.client()
    body = {"type": "conference", "title": "Colloque", "date": "2024-05-02", "format": "remote"}
    before = http.post("/v1/activities", json=body).json()["id"]
    published(nats_server, 1)
    nats_server.stop()
    during = http.post("/v1/activities", json=body)
    assert during.status_code == 201
    assert http.get(f"/v1/activities/{during.json()['id']}").status_code == 200
    nats_server.start()
    messages = published(nats_server, 2)
    assert [m["body"]["aggregate_id"] for m in messages] == [before, during.json()["id"]]
