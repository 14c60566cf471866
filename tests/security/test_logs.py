"""Tokens and personal information never reach a log line, even at COOP_LOG_LEVEL=DEBUG.

The services run with DEBUG logs; requests carry a distinctive token, a distinctive wrong
token, and an ambassador's distinctive name and email through every path that handles them
(enrolment, reads, lists, export, a refused enrolment, an idempotent replay, erasure, the
departure policy). Then every byte every process wrote, nats-server's included, is searched.
"""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import quote

import httpx
import pytest

from tests.fuzz.platform import ADMIN_TOKEN, SERVICES, Platform
from tests.security.conftest import HASHED_READER, client_from
from tests.support import wait_for

pytestmark = pytest.mark.e2e

ADDRESS = "127.0.3.1"
WRONG_TOKEN = "wrong-token-that-must-not-be-logged-83a1"
NAME = "Zéphirine Quenneville-Distinctive"
EMAIL = "zephirine.quenneville.7731@example.org"
NEW_NAME = "Théophane Laperrière-Unique"


def _secrets() -> dict[str, bytes]:
    values = {
        "admin token": ADMIN_TOKEN,
        "wrong token": WRONG_TOKEN,
        "hashed reader token": HASHED_READER,
        "name": NAME,
        "email": EMAIL,
        "second name": NEW_NAME,
    }
    found: dict[str, bytes] = {}
    for label, value in values.items():
        found[label] = value.encode()
        found[f"{label} (JSON-escaped)"] = value.encode("ascii", "backslashreplace").replace(
            b"\\x", b"\\u00"
        )
        found[f"{label} (URL-encoded)"] = quote(value).encode()
    found["admin token digest"] = hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest().encode()
    return found


def test_no_log_holds_a_token_or_personal_information(secured: Platform) -> None:
    cooperative = secured.seeded["cooperative"][2]
    with (
        client_from(secured, "ambassadors", ADDRESS, ADMIN_TOKEN) as ambassadors,
        client_from(secured, "ambassadors", ADDRESS, WRONG_TOKEN) as stranger,
        client_from(secured, "ambassadors", ADDRESS, HASHED_READER) as reader,
        client_from(secured, "membership", ADDRESS, ADMIN_TOKEN) as members,
    ):
        key = str(uuid.uuid4())
        body = {
            "cooperative_id": cooperative,
            "name": NAME,
            "email": EMAIL,
            "enrolled_on": "2022-05-01",
        }

        def enroll() -> httpx.Response | None:
            # The ambassadors service learns memberships from NATS: a client retries the 422.
            answer = ambassadors.post(
                "/v1/ambassadors", json=body, headers={"Idempotency-Key": key}
            )
            return None if answer.status_code == 422 else answer

        enrolled = wait_for(enroll, timeout=20, interval=0.1)
        assert enrolled.status_code == 201, enrolled.text
        ambassador = enrolled.json()["id"]
        replay = ambassadors.post("/v1/ambassadors", json=body, headers={"Idempotency-Key": key})
        assert replay.headers.get("idempotent-replayed") == "true"
        refused = ambassadors.post("/v1/ambassadors", json={**body, "enrolled_on": "1er mai"})
        assert refused.status_code == 422
        unknown = ambassadors.post(
            "/v1/ambassadors", json={**body, "name": NEW_NAME, "cooperative_id": str(uuid.uuid4())}
        )
        assert unknown.status_code == 422
        assert stranger.post("/v1/ambassadors", json=body).status_code == 401
        assert stranger.get(f"/v1/ambassadors/{ambassador}/personal-data").status_code == 401
        assert reader.get(f"/v1/ambassadors/{ambassador}").json()["name"] is None  # redacted
        assert ambassadors.get(f"/v1/ambassadors/{ambassador}").json()["name"] == NAME
        assert reader.get("/v1/ambassadors", params={"cooperative_id": cooperative}).is_success
        exported = ambassadors.get(f"/v1/ambassadors/{ambassador}/personal-data")
        assert (exported.json()["name"], exported.json()["email"]) == (NAME, EMAIL)
        action = ambassadors.post(
            f"/v1/ambassadors/{ambassador}/actions",
            json={"kind": "kiosque", "performed_on": "2023-01-10", "people_reached": 12},
        )
        assert action.status_code == 201, action.text
        # The departure policy deactivates the ambassador through NATS.
        left = members.post(
            f"/v1/cooperatives/{cooperative}/departure", json={"left_on": "2024-01-01"}
        )
        assert left.status_code == 200, left.text
        wait_for(
            lambda: reader.get(f"/v1/ambassadors/{ambassador}").json()["status"] == "deactivated",
            timeout=30,
        )
        assert ambassadors.delete(f"/v1/ambassadors/{ambassador}/personal-data").status_code == 204

    logs = {service: secured.log(service) for service in SERVICES}
    logs["nats-server"] = (
        secured.services["membership"].data_dir.parent / "nats" / "nats-server.log"
    ).read_bytes()
    assert cooperative.encode() in logs["ambassadors"], "the policy's own log lines were captured"
    for process, log in logs.items():
        for label, secret in _secrets().items():
            assert secret not in log, f"{process} logged the {label}"
