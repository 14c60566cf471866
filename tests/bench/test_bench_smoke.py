"""A smoke run of each benchmark at tiny size: the table has every row, each with a number.

No timing is asserted: these runs only prove that `python -m bench` still starts what it needs,
drives the real services and reports every figure. The PostgreSQL rows are required whenever
the PostgreSQL server the benchmarks would use answers.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.infra import ROOT, postgres_reachable, postgres_url

pytestmark = pytest.mark.e2e

EXPECTED_ROWS: dict[str, list[str]] = {
    "nats": [
        "nats.publish",
        "nats.publish.atomic",
        "nats.consume",
        "nats.latency.p50",
        "nats.latency.p99",
    ],
    "eventsourcing": [
        "es.sqlite.single",
        "es.sqlite.batch",
        "es.postgres.single",
        "es.postgres.batch",
    ],
    "fastapi": [
        "http.post.rate",
        "http.post.p50",
        "http.post.p99",
        "http.get.p50",
        "http.get.p99",
        "http.rss",
        "http.start",
    ],
    "commands": [
        "commands.sqlite.rate",
        "commands.sqlite.p50",
        "commands.sqlite.p99",
        "memory.membership",
        "commands.postgres.rate",
        "commands.postgres.p50",
        "commands.postgres.p99",
    ],
    "relay": ["relay.sqlite", "relay.postgres"],
    "projection": [
        "projection.rate",
        "indicators.p50",
        "indicators.p99",
        "as_recorded.p50",
        "as_recorded.p99",
        "series.p50",
        "series.p99",
        "memory.reporting",
        "memory.events",
        "memory.ambassadors",
    ],
    "freshness": ["freshness.p50", "freshness.p99"],
    "cold-start": ["start.cold"],
    "relay-default-sync": [
        "nats.publish.default_sync",
        "nats.publish.atomic.default_sync",
        "relay.sqlite.default_sync",
        "relay.postgres.default_sync",
    ],
    "faststream": ["consume.platform", "consume.faststream.batch", "consume.faststream.single"],
    "partnerships": [
        "partnerships.placements.rate",
        "partnerships.placements.p50",
        "partnerships.placements.p99",
        "partnerships.lag.max",
        "partnerships.lag.drained",
        "partnerships.projection.rate",
    ],
    "console": [
        "console.api.coop.p95",
        "console.coop.p50",
        "console.coop.p95",
        "console.api.activities.p95",
        "console.activities.p50",
        "console.activities.p95",
    ],
}
# Rows that may be 0 at the smoke run's tiny size (a projection that never falls behind).
MAY_BE_ZERO = {"partnerships.lag.max", "partnerships.lag.drained"}


def run_bench(name: str, tmp_path: Path) -> tuple[dict[str, dict[str, object]], str]:
    """`python -m bench --quick --only NAME --no-baselines`; its rows by key, and its table."""
    out = tmp_path / f"{name}.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", name, "--no-baselines", "-q",
         "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(out.read_text())
    assert report["failures"] == []
    return {row["key"]: row for row in report["rows"]}, completed.stdout


@pytest.mark.parametrize("name", list(EXPECTED_ROWS))
def test_each_benchmark_reports_every_row_with_a_number(name: str, tmp_path: Path) -> None:
    rows, table = run_bench(name, tmp_path)
    postgres_answers = postgres_reachable(postgres_url()) is None
    assert sorted(rows) == sorted(EXPECTED_ROWS[name])
    for key, row in rows.items():
        if "postgres" in key and not postgres_answers:
            assert str(row["note"]).startswith("skipped"), key
            continue
        value = row["value"]
        assert isinstance(value, int | float) and math.isfinite(value), (key, row)
        assert value > 0 or (key in MAY_BE_ZERO and value == 0), (key, row)
        assert str(row["label"]).strip().lstrip("… ").split()[0] in table
        known = {key for keys in EXPECTED_ROWS.values() for key in keys}
        assert set(row["baselines"]) <= known, (key, row["baselines"])
        if row["target"] is not None:
            assert row["met"] in (True, False), key
