"""Personal information (contract §6) across a real process, its SQLite files, logs and NATS."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tests.support import NatsServer, ServiceProcess, stream_messages, wait_for

NAME = "Philomène Xanthippe-Lévesque"
EMAIL = "philomene.xanthippe@exemple-prive.qc"
SECRETS = (NAME.encode(), EMAIL.encode(), NAME.encode("latin-1"), b"Xanthippe")

ADMIN, READER, WRITER = "admin-secret-token", "reader-secret-token", "writer-secret-token"
TOKENS = json.dumps(
    {
        ADMIN: ["read", "membership:write", "ambassadors:write", "privacy:admin"],
        READER: ["read"],
        WRITER: ["ambassadors:write"],
    }
)


def files_holding_secrets(*directories: Path) -> list[str]:
    """Every file under the directories whose bytes hold the name or the email."""
    found = []
    for directory in directories:
        for path in directory.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                if any(secret in content for secret in SECRETS):
                    found.append(str(path))
    return found


def stream(nats_url: str, name: str) -> list[dict[str, Any]]:
    try:
        return asyncio.run(stream_messages(nats_url, name))
    except Exception:
        return []


def enroll_when_known(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    def attempt() -> httpx.Response | None:
        response = client.post("/v1/ambassadors", json=body, headers={"Idempotency-Key": "k-1"})
        return response if response.status_code == 201 else None

    response: httpx.Response = wait_for(attempt)
    return response


def test_erasure_removes_personal_information_from_every_store_stream_and_log(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    env = {"COOP_API_TOKENS": TOKENS, "COOP_LOG_LEVEL": "DEBUG"}
    membership = ServiceProcess(
        "membership", tmp_path / "membership", nats_server.url, **env
    ).start()
    ambassadors = ServiceProcess(
        "ambassadors", tmp_path / "ambassadors", nats_server.url, **env
    ).start()
    try:
        with (
            membership.client(ADMIN) as members,
            ambassadors.client(ADMIN) as admin,
            ambassadors.client(READER) as reader,
            ambassadors.client(WRITER) as writer,
        ):
            cooperative = members.post(
                "/v1/cooperatives",
                json={
                    "name": "Coop Les Affranchis",
                    "region": "03",
                    "sector": "fabrication",
                    "worker_members": 4,
                    "joined_on": "2023-02-01",
                },
            ).json()["id"]
            body = {
                "cooperative_id": cooperative,
                "name": NAME,
                "email": EMAIL,
                "enrolled_on": "2023-06-01",
            }
            created = enroll_when_known(admin, body)
            ambassador_id = created.json()["id"]
            replay = admin.post("/v1/ambassadors", json=body, headers={"Idempotency-Key": "k-1"})
            assert replay.headers["Idempotent-Replayed"] == "true"
            action = admin.post(
                f"/v1/ambassadors/{ambassador_id}/actions",
                json={"kind": "presentation", "performed_on": "2023-07-01", "people_reached": 30},
            )
            assert action.status_code == 201
            path = f"/v1/ambassadors/{ambassador_id}/personal-data"

            assert _personal(admin.get(path).json()) == (NAME, EMAIL)
            for client in (reader, writer):
                assert client.get(path).status_code == 403
                assert client.delete(path).status_code == 403
                assert client.get(path).headers["content-type"] == "application/problem+json"
            assert _personal(admin.get(path).json()) == (NAME, EMAIL)
            wait_for(lambda: len(stream(nats_server.url, "COOP_AMBASSADORS")) == 2)
            before = admin.get(f"/v1/ambassadors/{ambassador_id}").json()
            assert (before["name"], before["email"], before["erased"]) == (NAME, EMAIL, False)
            assert files_holding_secrets(ambassadors.data_dir), "the search sees stored details"

            erased = admin.delete(path)
            assert (erased.status_code, erased.content) == (204, b"")
            assert admin.delete(path).status_code == 204

            after = reader.get(f"/v1/ambassadors/{ambassador_id}").json()
            assert (after["name"], after["email"], after["erased"]) == (None, None, True)
            assert after["version"] == before["version"]
            assert _personal(admin.get(path).json()) == (None, None)
            listed = reader.get("/v1/ambassadors").json()["items"]
            assert [(i["name"], i["email"], i["erased"]) for i in listed] == [(None, None, True)]
            again = admin.post("/v1/ambassadors", json=body, headers={"Idempotency-Key": "k-1"})
            assert (again.status_code, again.json()["name"]) == (201, None)

        assert files_holding_secrets(ambassadors.data_dir, nats_server.store_dir) == []
        log_lines = ambassadors.log_path.read_bytes().splitlines()
        assert log_lines, "the service logs something"
        assert not [line for line in log_lines if any(s in line for s in SECRETS)]
    finally:
        ambassadors.stop()
        membership.stop()
    assert files_holding_secrets(ambassadors.data_dir, nats_server.store_dir) == []


def _personal(export: dict[str, Any]) -> tuple[Any, Any]:
    """The name and email an export shows."""
    return export["name"], export["email"]
