"""The four services as real `coop serve` processes on one nats-server, with seeded records."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.settings import SCOPES
from tests.support import NatsServer, ServiceProcess, wait_for

SERVICES = ("membership", "events", "ambassadors", "reporting", "partnerships")
ADMIN_TOKEN = "platform-admin-token-7f3c"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class Platform:
    """Running services by name, and the ids of the records seeded through their APIs."""

    services: dict[str, ServiceProcess]
    seeded: dict[str, list[str]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        """A service's base URL."""
        return self.services[service].url

    def client(self, service: str, token: str | None = ADMIN_TOKEN) -> httpx.Client:
        """An HTTP client on a service, with a bearer token unless None."""
        return self.services[service].client(token)

    def openapi(self, service: str) -> dict[str, Any]:
        """The service's OpenAPI document, as it serves it."""
        with self.client(service, None) as http:
            response = http.get("/openapi.json")
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    def log(self, service: str) -> bytes:
        """Everything the service's process wrote so far."""
        return self.services[service].log_path.read_bytes()


def token_table(extra: Mapping[str, list[str]] | None = None) -> str:
    """`COOP_API_TOKENS` with the admin token (every scope) and `extra`."""
    return json.dumps({ADMIN_TOKEN: sorted(SCOPES), **(extra or {})})


@contextmanager
def running_platform(
    root: Path, env: Mapping[str, str] | None = None, *, seed: bool = True
) -> Iterator[Platform]:
    """A nats-server and the four services; stopped (SIGTERM) on exit."""
    nats = NatsServer(root / "nats").start()
    environment = {"COOP_API_TOKENS": token_table(), "COOP_LOG_LEVEL": "INFO", **(env or {})}
    services = {
        name: ServiceProcess(name, root / name, nats.url, **environment) for name in SERVICES
    }
    try:
        with ThreadPoolExecutor(len(services)) as pool:
            list(pool.map(lambda process: process.start(), services.values()))
        platform = Platform(services)
        if seed:
            platform.seeded = seed_records(platform)
        yield platform
    finally:
        for process in services.values():
            process.stop()
        nats.stop()


def seed_records(platform: Platform) -> dict[str, list[str]]:
    """Cooperatives, activities with attendance, ambassadors, a partner, a project, a table."""
    seeded: dict[str, list[str]] = {
        kind: []
        for kind in ("cooperative", "activity", "ambassador", "partner", "project", "table")
    }
    with (
        platform.client("membership") as members,
        platform.client("events") as events,
        platform.client("ambassadors") as ambassadors,
    ):
        for number in range(3):
            created = members.post(
                "/v1/cooperatives",
                json={
                    "name": f"Coopérative de semence {number}",
                    "region": f"{number + 1:02d}",
                    "sector": "alimentation",
                    "worker_members": 5 + number,
                    "joined_on": "2020-01-15",
                },
            )
            assert created.status_code == 201, created.text
            seeded["cooperative"].append(created.json()["id"])
        for kind in ("cine_discussion", "formation"):
            created = events.post(
                "/v1/activities",
                json={
                    "type": kind,
                    "title": f"Activité {kind}",
                    "date": "2023-10-12",
                    "format": "in_person",
                    "region": "01",
                    "partners": ["Pôle d'économie sociale"],
                },
            )
            assert created.status_code == 201, created.text
            seeded["activity"].append(created.json()["id"])
        first, activity = seeded["cooperative"][0], seeded["activity"][0]

        def attended() -> bool:
            answer = events.post(
                f"/v1/activities/{activity}/attendances", json={"cooperative_id": first}
            )
            return answer.status_code in (200, 201)

        wait_for(attended, timeout=30)
        for number in range(2):

            def enrolled(number: int = number) -> str | None:
                answer = ambassadors.post(
                    "/v1/ambassadors",
                    json={
                        "cooperative_id": seeded["cooperative"][number],
                        "name": f"Ambassadrice {number}",
                        "email": f"ambassadrice{number}@example.org",
                        "enrolled_on": "2021-03-01",
                    },
                )
                return str(answer.json()["id"]) if answer.status_code == 201 else None

            seeded["ambassador"].append(wait_for(enrolled, timeout=30))
    with platform.client("partnerships") as partnerships:
        partner = partnerships.post(
            "/v1/partners", json={"name": "Épicerie de semence", "kind": "detaillant"}
        )
        assert partner.status_code == 201, partner.text
        seeded["partner"].append(partner.json()["id"])
        project = partnerships.post(
            "/v1/research-projects",
            json={
                "title": "Projet de semence",
                "partner_ids": [partner.json()["id"]],
                "started_on": "2023-10-01",
            },
        )
        assert project.status_code == 201, project.text
        seeded["project"].append(project.json()["id"])
        table = partnerships.post(
            "/v1/sector-tables",
            json={
                "name": "Table de semence",
                "sector": "microbrasserie",
                "formed_on": "2023-01-10",
            },
        )
        assert table.status_code == 201, table.text
        seeded["table"].append(table.json()["id"])
    return seeded
