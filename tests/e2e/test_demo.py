"""`coop demo` as a real process: the annual report's figures (§9) and the dashboard."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, free_port

SERVICES = ("membership", "events", "ambassadors", "reporting")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A `coop demo` process that has recorded its history; yields the service URLs."""
    data_dir = tmp_path_factory.mktemp("demo")
    ports = {name: free_port() for name in SERVICES}
    env = {
        **{k: v for k, v in os.environ.items() if k != "COOP_NATS_URL"},
        **{f"COOP_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    log = (data_dir / "demo.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "demo", "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert process.stdout is not None
    printed: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        printed.append(line)
        if line.startswith("dashboard"):
            break
    assert any(line.startswith("dashboard") for line in printed), "".join(printed)
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    urls["printed"] = "".join(printed)
    yield urls
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0


def test_demo_prints_the_nats_url_the_service_urls_and_the_indicator_table(
    demo: dict[str, str],
) -> None:
    printed = demo["printed"]
    assert "nats://127.0.0.1:" in printed
    for name in SERVICES:
        assert demo[name] in printed
    assert "members.total" in printed and "125" in printed
    assert f"dashboard   {demo['reporting']}/" in printed


def test_demo_reproduces_the_published_figures_of_2023_2024(demo: dict[str, str]) -> None:
    answer = httpx.get(f"{demo['reporting']}/v1/indicators/2023-2024", timeout=30).json()
    indicators = answer["indicators"]
    assert indicators["members.total"] == 125
    months = indicators["members.joined_by_month"]
    assert len(months) == 12 and all(count >= 1 for count in months.values())
    assert 0.91 <= indicators["participation.rate"] <= 0.9149
    assert 950 <= indicators["outreach.people_reached"] <= 1050
    assert indicators["ambassadors.mobilized"] == 29


def test_demo_figures_are_unchanged_by_a_projection_rebuild(demo: dict[str, str]) -> None:
    url = f"{demo['reporting']}/v1/indicators/2023-2024"
    before = httpx.get(url, timeout=30).json()["indicators"]
    refused = httpx.post(f"{demo['reporting']}/v1/projections/rebuild", timeout=10)
    assert refused.status_code == 401
    accepted = httpx.post(
        f"{demo['reporting']}/v1/projections/rebuild",
        headers={"Authorization": "Bearer dev-admin-token"},
        timeout=10,
    )
    assert accepted.status_code == 202
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = httpx.get(f"{demo['reporting']}/v1/projections/status", timeout=10).json()
        if not status["rebuilding"]:
            break
        time.sleep(0.2)
    assert not status["rebuilding"]
    assert httpx.get(url, timeout=30).json()["indicators"] == before


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-headless-shell")


def test_dashboard_loads_in_headless_chromium_without_console_errors_and_shows_the_figures(
    demo: dict[str, str], tmp_path: Path
) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            f"{demo['reporting']}/?fiscal_year=2023-2024&lang=fr",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = result.stdout
    console_errors = [
        line for line in result.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()
    ]
    assert console_errors == []
    indicators = httpx.get(f"{demo['reporting']}/v1/indicators/2023-2024", timeout=30).json()[
        "indicators"
    ]
    rate = f"{indicators['participation.rate'] * 100:.1f}".replace(".", ",")
    for figure in (
        str(indicators["members.total"]),
        rate,
        str(indicators["ambassadors.mobilized"]),
    ):
        assert figure in dom
    assert dom.count("<svg") >= 3


def test_coop_report_prints_the_report_section_in_french_and_english(demo: dict[str, str]) -> None:
    env = {**os.environ, "COOP_REPORTING_PORT": demo["reporting"].rsplit(":", 1)[1]}
    french = subprocess.run(
        [sys.executable, "-m", "services.cli", "report", "2023-2024"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert french.returncode == 0, french.stderr
    assert "# Indicateurs de l’exercice 2023-2024" in french.stdout
    assert "125 coopératives membres" in french.stdout
    english = subprocess.run(
        [sys.executable, "-m", "services.cli", "report", "2023-2024", "--lang", "en"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert english.returncode == 0, english.stderr
    assert "125 member cooperatives" in english.stdout or "125" in english.stdout
    assert "Indicateurs" not in english.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", "services.cli", "report", "2023-2025"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2
    assert len(wrong.stderr.strip().splitlines()) == 1


def test_reporting_metrics_expose_the_current_years_scalars_and_projection_lag(
    demo: dict[str, str],
) -> None:
    response = httpx.get(f"{demo['reporting']}/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    text = response.text
    assert 'coop_indicator{fiscal_year="' in text
    assert 'indicator="members.total"' in text
    assert "coop_consumer_lag_messages" in text
    assert text.rstrip().endswith("# EOF")
