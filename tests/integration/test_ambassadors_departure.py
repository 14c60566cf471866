"""The departure policy across real processes: membership → NATS → ambassadors → NATS."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import nats

from tests.support import NatsServer, ServiceProcess, stream_messages, wait_for

COOPERATIVE = {
    "name": "Coop de travail La Remise",
    "region": "01",
    "sector": "microbrasserie",
    "worker_members": 8,
    "joined_on": "2023-01-10",
}


def join(membership: httpx.Client, **changes: Any) -> str:
    response = membership.post("/v1/cooperatives", json={**COOPERATIVE, **changes})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def enroll_when_known(ambassadors: httpx.Client, cooperative_id: str, enrolled_on: str) -> str:
    """Enroll, retrying while the membership event is still on its way."""
    body = {"cooperative_id": cooperative_id, "name": "Léa Bouchard", "enrolled_on": enrolled_on}

    def attempt() -> httpx.Response | None:
        response = ambassadors.post("/v1/ambassadors", json=body)
        return response if response.status_code == 201 else None

    return str(wait_for(attempt).json()["id"])


def stream(nats_url: str, name: str) -> list[dict[str, Any]]:
    try:
        return asyncio.run(stream_messages(nats_url, name))
    except Exception:
        return []


def deactivations(nats_url: str, ambassador_id: str) -> list[dict[str, Any]]:
    return [
        m
        for m in stream(nats_url, "COOP_AMBASSADORS")
        if m["body"]["event_type"] == "AmbassadorDeactivated"
        and m["body"]["aggregate_id"] == ambassador_id
    ]


def consumer_position(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "ambassadors.sqlite3") as db:
        row = db.execute(
            "SELECT position FROM coop_tracking WHERE name = ?",
            ("COOP_MEMBERSHIP:ambassadors-membership",),
        ).fetchone()
    return int(row[0]) if row else 0


def forget_consumer_position(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "ambassadors.sqlite3") as db:
        db.execute(
            "DELETE FROM coop_tracking WHERE name = ?",
            ("COOP_MEMBERSHIP:ambassadors-membership",),
        )


async def republish(nats_url: str, message: dict[str, Any]) -> None:
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        await js.publish(
            message["subject"],
            json.dumps(message["body"]).encode(),
            headers={"Nats-Msg-Id": "republished-by-hand"},
        )
    finally:
        await connection.close()


def test_a_departure_deactivates_the_ambassadors_exactly_once_even_when_redelivered(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    membership = ServiceProcess("membership", tmp_path / "membership", nats_server.url).start()
    ambassadors = ServiceProcess("ambassadors", tmp_path / "ambassadors", nats_server.url).start()
    try:
        with membership.client() as members, ambassadors.client() as http:
            cooperative_id = join(members)
            ambassador_id = enroll_when_known(http, cooperative_id, "2023-06-01")
            later = http.post(
                "/v1/ambassadors",
                json={"cooperative_id": cooperative_id, "name": "Noé", "enrolled_on": "2024-04-02"},
            ).json()["id"]

            left = members.post(
                f"/v1/cooperatives/{cooperative_id}/departure", json={"left_on": "2024-03-01"}
            )
            assert left.status_code == 200, left.text

            wait_for(lambda: deactivations(nats_server.url, ambassador_id))
            wait_for(lambda: deactivations(nats_server.url, later))
            deactivated = http.get(f"/v1/ambassadors/{ambassador_id}").json()
            assert (deactivated["status"], deactivated["ended_on"]) == ("deactivated", "2024-03-01")
            assert http.get(f"/v1/ambassadors/{later}").json()["ended_on"] == "2024-04-02"

        # Force a redelivery: no chance to clean up, the tracking row forgotten, and the
        # departure republished by hand under another message id.
        ambassadors.kill()
        forget_consumer_position(ambassadors.data_dir)
        departure = next(
            m
            for m in stream(nats_server.url, "COOP_MEMBERSHIP")
            if m["body"]["event_type"] == "CoopLeft"
        )
        asyncio.run(republish(nats_server.url, departure))
        last = stream(nats_server.url, "COOP_MEMBERSHIP")[-1]["seq"]
        ambassadors.start()
        wait_for(lambda: consumer_position(ambassadors.data_dir) >= last)

        with ambassadors.client() as http:
            again = http.get(f"/v1/ambassadors/{ambassador_id}").json()
        assert again["version"] == deactivated["version"] == 2
        (message,) = deactivations(nats_server.url, ambassador_id)
        assert len(deactivations(nats_server.url, later)) == 1
        assert message["body"]["data"] == {
            "ambassador_id": ambassador_id,
            "effective_on": "2024-03-01",
            "reason": "cooperative-left",
        }
        assert message["body"]["causation_id"] == departure["body"]["event_id"]
        assert message["body"]["correlation_id"] == departure["body"]["correlation_id"]
    finally:
        ambassadors.stop()
        membership.stop()


def test_enrollment_for_a_cooperative_not_active_on_the_date_is_refused(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    membership = ServiceProcess("membership", tmp_path / "membership", nats_server.url).start()
    ambassadors = ServiceProcess("ambassadors", tmp_path / "ambassadors", nats_server.url).start()
    try:
        with membership.client() as members, ambassadors.client() as http:
            cooperative_id = join(members)
            unknown = "0b7e7a40-5f55-4c4e-9d2a-7f2f86c1e000"
            members.post(
                f"/v1/cooperatives/{cooperative_id}/departure", json={"left_on": "2024-03-01"}
            )
            # the 15 built-in sectors, then the join and the departure
            last = wait_for(lambda: len(stream(nats_server.url, "COOP_MEMBERSHIP")) == 17 and 17)
            wait_for(lambda: consumer_position(ambassadors.data_dir) >= last)

            for candidate, enrolled_on in [
                (cooperative_id, "2023-01-09"),
                (cooperative_id, "2024-03-01"),
                (cooperative_id, "2025-01-01"),
                (unknown, "2023-06-01"),
            ]:
                response = http.post(
                    "/v1/ambassadors",
                    json={
                        "cooperative_id": candidate,
                        "name": "Rosalie",
                        "enrolled_on": enrolled_on,
                    },
                )
                assert response.status_code == 422, response.text
                assert response.headers["content-type"] == "application/problem+json"
                problem = response.json()
                assert problem["type"].endswith("/cooperative-not-member")
                assert problem["status"] == 422
                assert problem["errors"][0]["field"] == "cooperative_id"
            assert http.get("/v1/ambassadors").json()["items"] == []
    finally:
        ambassadors.stop()
        membership.stop()
