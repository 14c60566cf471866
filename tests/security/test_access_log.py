"""Structured logs (issue "Hardening", item 3): one JSON line per request, with the trace ids.

A real `coop serve membership` process; its log lines are read back from its output.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.logs import JsonFormatter, trace_parent
from tests.support import NatsServer, ServiceProcess, wait_for

pytestmark = pytest.mark.e2e

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
SECRET = "not-a-token-but-a-secret"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    root: Path = tmp_path_factory.mktemp("access-log")
    nats = NatsServer(root / "nats").start()
    process = ServiceProcess("membership", root / "membership", nats.url)
    try:
        yield process.start()
    finally:
        process.stop()
        nats.stop()


def lines(service: ServiceProcess) -> list[dict[str, Any]]:
    found = []
    for line in service.log_path.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def test_each_request_logs_one_line_with_route_status_duration_client_and_trace(
    service: ServiceProcess,
) -> None:
    with service.client() as http:
        cooperative = http.post(
            "/v1/cooperatives",
            json={"name": "Coop Journal", "region": "06", "sector": "design",
                  "worker_members": 2, "joined_on": "2023-01-01"},
            headers={"traceparent": f"00-{TRACE}-{PARENT}-01"},
        )  # fmt: skip
        assert cooperative.status_code == 201
        http.get(f"/v1/cooperatives/{cooperative.json()['id']}")

    def access() -> list[dict[str, Any]]:
        return [e for e in lines(service) if e.get("logger") == "coop.access"]

    wait_for(lambda: len(access()) >= 2)
    post = next(e for e in access() if e["method"] == "POST")
    assert post["route"] == "/v1/cooperatives"
    assert post["status"] == 201
    assert post["duration_ms"] > 0
    assert post["client"] == "127.0.0.1"
    assert (post["trace_id"], post["span_id"]) == (TRACE, PARENT)
    get = next(e for e in access() if e["method"] == "GET")
    assert get["route"] == "/v1/cooperatives/{cooperative_id}"


def test_refused_authentication_is_a_warning_with_the_reason_never_the_token(
    service: ServiceProcess,
) -> None:
    answer = httpx.get(
        f"{service.url}/v1/cooperatives", headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert answer.status_code == 401

    def warnings() -> list[dict[str, Any]]:
        return [e for e in lines(service) if e["level"] == "WARNING"]

    wait_for(lambda: any(e.get("status") == 401 for e in warnings()))
    assert any("missing or unknown token" in e["message"] for e in warnings())
    assert SECRET not in service.log_path.read_text()


def test_a_message_s_traceparent_names_the_trace_of_its_log_lines() -> None:
    formatter = JsonFormatter("events")
    record = logging.LogRecord("shared.consumer", logging.ERROR, "", 0, "parked", None, None)
    token = trace_parent.set(f"00-{TRACE}-{PARENT}-01")
    try:
        entry = json.loads(formatter.format(record))
    finally:
        trace_parent.reset(token)
    assert (entry["trace_id"], entry["span_id"]) == (TRACE, PARENT)
    assert "trace_id" not in json.loads(formatter.format(record))
