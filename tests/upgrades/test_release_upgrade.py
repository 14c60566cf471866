"""A data dir made by the first release starts with this release and reads the same.

The data dir (tests/fixtures/release-1) holds the previous release's stores, read models and
JetStream store. This release's start-up migrates what it must; then every resource and every
indicator the previous release answered must read the same (fields added since may appear).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services import registry
from tests.support import AUTH, ROOT, free_port, wait_for

pytestmark = pytest.mark.e2e

FIXTURE = ROOT / "tests" / "fixtures" / "release-1"
COOP = Path(sys.executable).parent / "coop"


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("release-1")
    with tarfile.open(FIXTURE / "data-dir.tar.gz") as archive:
        archive.extractall(data_dir, filter="data")
    ports = {name: free_port() for name in registry.available()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOP_")}
    env.update({f"COOP_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    log = (data_dir / "up.log").open("wb")
    process = subprocess.Popen(
        [str(COOP), "up", "--data-dir", str(data_dir)], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        wait_for(lambda: _caught_up(urls["reporting"]), timeout=90, interval=0.5)
        yield urls
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


def _caught_up(reporting: str) -> bool:
    try:
        status = httpx.get(f"{reporting}/v1/projections/status", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False
    streams = status.get("streams", {})
    return bool(streams) and all(
        s["lag"] == 0 and s["last_applied"] > 0
        for name, s in streams.items()
        if name in ("COOP_MEMBERSHIP", "COOP_EVENTS", "COOP_AMBASSADORS")
    )


def _items(base: str, path: str, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": "1000", **({"cursor": cursor} if cursor else {})}
        page = httpx.get(base + path, params=query, headers=AUTH, timeout=10).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def _same_fields(before: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """The fields of the previous release's answer that now read differently."""
    return {k: (v, now.get(k)) for k, v in before.items() if now.get(k) != v}


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    return loaded


def test_every_cooperative_reads_as_the_previous_release_recorded_it(
    upgraded: dict[str, str], expected: dict[str, Any]
) -> None:
    base = upgraded["membership"]
    now = {c["id"]: c for c in _items(base, "/v1/cooperatives")}
    now.update({c["id"]: c for c in _items(base, "/v1/cooperatives", status="left")})
    assert sorted(now) == sorted(c["id"] for c in expected["cooperatives"])
    changed = {c["id"]: _same_fields(c, now[c["id"]]) for c in expected["cooperatives"]}
    assert not {k: v for k, v in changed.items() if v}


def test_every_activity_and_ambassador_reads_the_same(
    upgraded: dict[str, str], expected: dict[str, Any]
) -> None:
    for service, path, key in (
        ("events", "/v1/activities", "activities"),
        ("ambassadors", "/v1/ambassadors", "ambassadors"),
    ):
        now = {r["id"]: r for r in _items(upgraded[service], path)}
        assert sorted(now) == sorted(r["id"] for r in expected[key])
        changed = {r["id"]: _same_fields(r, now[r["id"]]) for r in expected[key]}
        assert not {k: v for k, v in changed.items() if v}, key


def test_every_indicator_of_every_year_is_unchanged(
    upgraded: dict[str, str], expected: dict[str, Any]
) -> None:
    for fiscal_year, before in expected["indicators"].items():
        now = httpx.get(f"{upgraded['reporting']}/v1/indicators/{fiscal_year}", timeout=10)
        assert now.status_code == 200
        assert _same_fields(before, now.json()["indicators"]) == {}, fiscal_year


def test_the_previous_release_can_still_record(upgraded: dict[str, str]) -> None:
    joined = httpx.post(
        f"{upgraded['membership']}/v1/cooperatives",
        headers=AUTH,
        json={"name": "Coop après la mise à jour", "region": "06", "sector": "design",
              "worker_members": 3, "joined_on": "2024-09-03"},
    )  # fmt: skip
    assert joined.status_code == 201, joined.text
    wait_for(
        lambda: (
            httpx.get(f"{upgraded['reporting']}/v1/indicators/2024-2025").json()["indicators"][
                "members.joined"
            ]
            >= 1
        )
    )
