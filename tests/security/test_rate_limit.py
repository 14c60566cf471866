"""Failed authentications are limited per client address: 429 with Retry-After past the threshold.

Each service keeps a sliding window (`shared.http.limiter`: 30 failures in 60 s).
Connections come from distinct loopback addresses, so one address can be locked out while
the others are not.
"""

from __future__ import annotations

import time

import pytest

from shared.http import FailedAuthLimiter
from tests.fuzz.platform import ADMIN_TOKEN, Platform
from tests.security.conftest import client_from

pytestmark = pytest.mark.e2e

ATTACKER = "127.0.4.1"
NEIGHBOUR = "127.0.4.2"
THRESHOLD = FailedAuthLimiter().limit
WINDOW = FailedAuthLimiter().window


def test_an_address_that_keeps_failing_authentication_gets_429_with_retry_after(
    secured: Platform,
) -> None:
    with client_from(secured, "events", ATTACKER, "guessed-token") as attacker:
        for attempt in range(THRESHOLD):
            answer = attacker.get("/v1/activities")
            assert answer.status_code == 401, (attempt, answer.text)
        limited = attacker.get("/v1/activities")
    assert limited.status_code == 429, limited.text
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert limited.json()["status"] == 429
    retry_after = int(limited.headers["retry-after"])
    assert 1 <= retry_after <= WINDOW + 1

    # The limit is on the address's failed attempts only: a valid token is never refused
    # (contract §1 v2), from that address or any other.
    with client_from(secured, "events", ATTACKER, ADMIN_TOKEN) as same_address:
        assert same_address.get("/v1/activities").status_code == 200
    with client_from(secured, "events", NEIGHBOUR, ADMIN_TOKEN) as neighbour:
        assert neighbour.get("/v1/activities").status_code == 200
    with client_from(secured, "membership", ATTACKER, ADMIN_TOKEN) as other_service:
        assert other_service.get("/v1/cooperatives").status_code == 200


def test_successful_authentications_are_never_limited(secured: Platform) -> None:
    with client_from(secured, "events", "127.0.4.3", ADMIN_TOKEN) as client:
        for _ in range(THRESHOLD + 10):
            assert client.get("/v1/activities", params={"limit": 1}).status_code == 200


def test_the_failure_window_slides() -> None:
    limiter = FailedAuthLimiter(limit=3, window=0.3)
    for _ in range(3):
        assert limiter.retry_after("192.0.2.1") == 0
        limiter.fail("192.0.2.1")
    assert limiter.retry_after("192.0.2.1") >= 1
    assert limiter.retry_after("192.0.2.2") == 0
    time.sleep(0.35)
    assert limiter.retry_after("192.0.2.1") == 0
