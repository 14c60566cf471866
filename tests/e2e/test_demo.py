"""`coop demo` as a real process: the annual report's figures (§9) and the dashboard."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.support import ROOT, free_port

SERVICES = ("membership", "events", "ambassadors", "reporting")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Lighthouse, as `make lighthouse` installs it (npm, into the ignored folder .lighthouse).
LIGHTHOUSE_VERSION = "12.2.3"
LIGHTHOUSE = ROOT / ".lighthouse" / "node_modules" / ".bin" / "lighthouse"
# The pages people read: the dashboard and the report of the demonstration year.
PAGES = ("/?year=2023-2024&lang=fr", "/v1/reports/2023-2024?lang=fr", "/?year=2023-2024&lang=en")


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


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (Debian's chromium; .ci/run installs it)")


# What the layout check reads in the page: the document's width against the viewport's, and
# for each chart its box, its container's box and the smallest text it draws, in pixels.
_LAYOUT = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  viewport: window.innerWidth,
  charts: [...document.querySelectorAll("svg.chart, .chart svg")].map((svg) => {
    const box = svg.getBoundingClientRect();
    const parent = svg.parentElement.getBoundingClientRect();
    const scale = box.width / svg.viewBox.baseVal.width;
    const sizes = [...svg.querySelectorAll("text, tspan")].map(
      (text) => parseFloat(getComputedStyle(text).fontSize) * scale);
    return {
      id: svg.getAttribute("aria-labelledby"),
      left: box.left, right: box.right, width: box.width, height: box.height,
      parentLeft: parent.left, parentRight: parent.right,
      visible: svg.checkVisibility(), smallestText: Math.min(...sizes),
    };
  }),
})"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_dashboard_and_report_fit_the_screen_and_their_charts_stay_readable(
    demo: dict[str, str], width: int
) -> None:
    _need_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 844})
            for path in PAGES:
                assert page.goto(f"{demo['reporting']}{path}").ok, path
                layout = page.evaluate(_LAYOUT)
                # No sideways scrolling: the page is no wider than the screen.
                assert layout["scrollWidth"] <= layout["viewport"] == width, (path, layout)
                assert len(layout["charts"]) == 3, (path, layout)
                for chart in layout["charts"]:
                    where = (path, chart)
                    assert chart["visible"] and chart["width"] > 200, where
                    assert chart["height"] > 100, where
                    # The chart fits its container, and its text is drawn at 10 px or more.
                    assert chart["left"] >= chart["parentLeft"] - 0.5, where
                    assert chart["right"] <= chart["parentRight"] + 0.5, where
                    assert chart["smallestText"] >= 10, where
        finally:
            browser.close()


def _lighthouse(url: str, out: Path) -> dict[str, Any]:
    """Lighthouse's performance audit of a page (mobile, simulated throttling), as JSON."""
    if not LIGHTHOUSE.exists():
        pytest.fail(
            f"Lighthouse is not installed at {LIGHTHOUSE.relative_to(ROOT)}: run `make lighthouse` "
            f"(npm install --prefix .lighthouse lighthouse@{LIGHTHOUSE_VERSION}; make test does it)"
        )
    package = json.loads(
        (ROOT / ".lighthouse/node_modules/lighthouse/package.json").read_text(encoding="utf-8")
    )
    assert package["version"] == LIGHTHOUSE_VERSION, "run `make lighthouse` again"
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS, f"--user-data-dir={out}.profile"])
    result = subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--only-categories=performance",
            "--output=json",
            f"--output-path={out}",
            f"--chrome-flags={flags}",
        ],
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert report.get("runtimeError") is None, report["runtimeError"]
    return report


@pytest.mark.parametrize("path", PAGES[:2])
def test_lighthouse_finds_the_dashboard_and_report_fast_and_steady(
    demo: dict[str, str], path: str, tmp_path: Path
) -> None:
    _need_chromium()
    report = _lighthouse(f"{demo['reporting']}{path}", tmp_path / "lighthouse.json")
    score = report["categories"]["performance"]["score"]
    shift = report["audits"]["cumulative-layout-shift"]["numericValue"]
    assert shift <= 0.1, shift
    assert score >= 0.90, {
        name: report["audits"][name].get("displayValue")
        for name in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
                     "speed-index", "server-response-time")
    }  # fmt: skip
