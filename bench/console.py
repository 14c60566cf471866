"""The staff console's page renders against a running platform holding the demo history.

`coop demo` runs in a scratch directory on free ports (the 2023-2024 demonstration: 135
cooperatives, their activities, attendance, ambassadors and partnerships); a staff member signs
in, then one client asks for pages one after another. The baseline, in the same run, is the
service API answer each page is built on (the page calls it, then a few more, and renders).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.context import Context
from bench.infra import ROOT
from bench.loadgen import percentile
from bench.report import Row, at_most
from shared.nats_server import free_port

SERVICES = ("membership", "events", "ambassadors", "reporting", "partnerships", "console")
TOKEN = "dev-admin-token"
PAGE_TARGET = at_most(150)  # issue 18: each page in ≤ 150 ms p95 with the demo data


@dataclass
class DemoPlatform:
    """`coop demo` running: each service's URL."""

    urls: dict[str, str]

    def api(self, service: str) -> httpx.Client:
        """A client of one service with the development token."""
        return httpx.Client(
            base_url=self.urls[service], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )

    def signed_in(self) -> httpx.Client:
        """A console client whose staff member has signed in with the development token."""
        client = httpx.Client(base_url=self.urls["console"], timeout=30)
        client.get("/sign-in")
        csrf = client.cookies.get("coop_sign_in") or ""
        answer = client.post("/sign-in", data={"csrf_token": csrf, "token": TOKEN, "next": "/"})
        if answer.status_code != 303:
            raise RuntimeError(f"sign-in refused: {answer.status_code}")
        return client


@contextlib.contextmanager
def demo_platform(data_dir: Path, timeout: float = 600) -> Iterator[DemoPlatform]:
    """`coop demo` in `data_dir` on free ports, until its history is recorded; stopped after."""
    ports = {name: free_port() for name in SERVICES}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("COOP_", "OTEL_"))},
        "COOP_ENV": "development",
        "COOP_LOG_LEVEL": "WARNING",
        **{f"COOP_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "demo.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "demo", "--data-dir", str(data_dir)],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while "ready — Ctrl-C to stop" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"coop demo did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield DemoPlatform({name: f"http://127.0.0.1:{port}" for name, port in ports.items()})
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _timings(client: httpx.Client, path: str, count: int, warmup: int) -> list[float]:
    """Milliseconds of `count` sequential GETs of `path` (after `warmup` unmeasured ones)."""
    times: list[float] = []
    for number in range(warmup + count):
        started = time.perf_counter()
        answer = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path} → {answer.status_code}")
        if number >= warmup:
            times.append(elapsed)
    return times


def console_pages(ctx: Context) -> list[Row]:
    """GET of a cooperative's page and of the activities list, p50 and p95, beside their APIs."""
    count = max(20, int(ctx.sizes.duration * 20))
    warmup = max(3, count // 10)
    ctx.log("figure: console pages — starting coop demo (records the demonstration history)")
    with demo_platform(ctx.directory("console-demo")) as demo:
        with demo.api("membership") as membership, demo.api("events") as events:
            cooperatives = membership.get("/v1/cooperatives", params={"limit": 1000}).json()
            with_attendance = [
                c for c in cooperatives["items"]
                if events.get("/v1/attendances", params={"cooperative_id": c["id"]}).json()["items"]
            ]  # fmt: skip
            coop_id = (with_attendance or cooperatives["items"])[0]["id"]
            ctx.log(f"figure: console pages, {count} sequential GETs each, 1 client")
            api = {
                "coop": _timings(membership, f"/v1/cooperatives/{coop_id}", count, warmup),
                "activities": _timings(events, "/v1/activities?limit=50", count, warmup),
            }
        console = demo.signed_in()
        try:
            pages = {
                "coop": _timings(console, f"/cooperatives/{coop_id}", count, warmup),
                "activities": _timings(console, "/activities", count, warmup),
            }
        finally:
            console.close()
    note = f"{count} GETs one after another, demo history (135 cooperatives), 1 client"
    rows: list[Row] = []
    labels = {
        "coop": ("a cooperative's page /cooperatives/{id}", "membership GET /v1/cooperatives/{id}"),
        "activities": ("the activities list /activities", "events GET /v1/activities?limit=50"),
    }
    for name, (page_label, api_label) in labels.items():
        base = f"console.api.{name}.p95"
        rows += [
            Row(base, f"{api_label} (the page's first call), p95", percentile(api[name], 95),
                "ms", is_baseline=True),
            Row(f"console.{name}.p50", f"console {page_label}, p50",
                percentile(pages[name], 50), "ms"),
            Row(f"console.{name}.p95", f"console {page_label}, p95",
                percentile(pages[name], 95), "ms", baselines=[base], target=PAGE_TARGET,
                note=note),
        ]  # fmt: skip
    return rows
