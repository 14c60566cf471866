"""`/metrics` of every service passes `promtool check metrics`, and each consumer has one lag
series, removed when the consumer goes away (issue "Hardening", item 4)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import AUTH, NatsServer, ServiceProcess, wait_for

pytestmark = pytest.mark.e2e

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
SERVICES = ("membership", "events", "ambassadors", "reporting")


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    root: Path = tmp_path_factory.mktemp("metrics")
    nats = NatsServer(root / "nats").start()
    started = {name: ServiceProcess(name, root / name, nats.url) for name in SERVICES}
    try:
        for process in started.values():
            process.start()
        yield started
    finally:
        for process in started.values():
            process.stop()
        nats.stop()


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_as_prometheus_text_pass_promtool(
    services: dict[str, ServiceProcess], service: str
) -> None:
    answer = httpx.get(f"{services[service].url}/metrics", headers={"Accept": "text/plain"})
    assert answer.headers["content-type"].startswith("text/plain")
    checked = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=answer.content, capture_output=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_metrics_are_openmetrics_unless_text_is_asked(
    services: dict[str, ServiceProcess],
) -> None:
    answer = httpx.get(f"{services['membership'].url}/metrics")
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.rstrip().endswith("# EOF")


def _lag_series(text: str) -> list[str]:
    return re.findall(r'^coop_consumer_lag_messages\{consumer="([^"]+)"\}', text, re.M)


def test_each_consumer_has_one_lag_series_and_a_rebuild_forgets_the_old_ones(
    services: dict[str, ServiceProcess],
) -> None:
    reporting = services["reporting"].url

    def series() -> list[str]:
        return _lag_series(httpx.get(f"{reporting}/metrics").text)

    before = wait_for(lambda: (found := series()) and len(found) >= 3 and found)
    assert len(before) == len(set(before))
    assert not {"COOP_MEMBERSHIP", "COOP_EVENTS", "COOP_AMBASSADORS"} & set(before)
    rebuilt = httpx.post(f"{reporting}/v1/projections/rebuild", headers=AUTH)
    assert rebuilt.status_code == 202
    wait_for(lambda: not httpx.get(f"{reporting}/v1/projections/status").json()["rebuilding"])
    after = wait_for(lambda: (found := series()) and set(found) != set(before) and found)
    assert len(after) == len(before)
    assert not set(before) & set(after)
