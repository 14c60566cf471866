"""The HTTP load generator: closed-loop concurrent clients (asyncio + httpx) in worker processes.

`closed_loop` runs `clients` concurrent keep-alive clients, each sending its next request as
soon as the previous answer arrives, split over `processes` worker processes (one asyncio loop
each). Requests sent during `warmup` are not counted; then every request that *starts* inside
the measured window is timed from send to full response. The workers report their own CPU
time, so the table can say how much of the machine the client took from the server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.http_client import Connection, HttpError
from bench.infra import AUTH, ROOT, run_async

# A profile turns (worker, counter) into (method, path, json body or None).
Profile = Callable[[int, int], tuple[str, str, dict[str, Any] | None]]

SECTORS = ("microbrasserie", "boulangerie", "informatique", "imprimerie", "construction")


def join_body(worker: int, counter: int) -> dict[str, Any]:
    """A cooperative's join, with a NEQ unique across workers and runs of one service."""
    return {
        "name": f"Coopérative de travail Banc d'essai {worker}-{counter}",
        "region": f"{counter % 17 + 1:02d}",
        "sector": SECTORS[counter % len(SECTORS)],
        "worker_members": counter % 40 + 3,
        "joined_on": f"2023-{counter % 12 + 1:02d}-{counter % 28 + 1:02d}",
        "neq": f"{worker % 10}{counter:09d}"[-10:],
    }


def post_cooperative(worker: int, counter: int) -> tuple[str, str, dict[str, Any] | None]:
    """POST /v1/cooperatives (membership service)."""
    return "POST", "/v1/cooperatives", join_body(worker, counter)


def post_item(worker: int, counter: int) -> tuple[str, str, dict[str, Any] | None]:
    """POST /items (bare FastAPI baseline), same body."""
    return "POST", "/items", join_body(worker, counter)


def get_items(worker: int, counter: int) -> tuple[str, str, dict[str, Any] | None]:
    """GET /items (bare FastAPI baseline)."""
    return "GET", "/items", None


def get_indicators(worker: int, counter: int) -> tuple[str, str, dict[str, Any] | None]:
    """GET /v1/indicators/2023-2024 (reporting service)."""
    return "GET", "/v1/indicators/2023-2024", None


PROFILE_DATA: dict[str, Any] = {}
"""What a profile needs from the run that sets it up (ids made beforehand), in each worker."""


def post_placement(worker: int, counter: int) -> tuple[str, str, dict[str, Any] | None]:
    """POST /v1/sector-tables/{id}/retail-placements (partnerships service): consecutive
    requests go to different tables, and a (table, retailer) pair comes back only after
    tables × retailers requests, so no placement finds its retailer's still open."""
    tables, retailers = PROFILE_DATA["tables"], PROFILE_DATA["retailers"]
    index = counter + worker * len(tables) * len(retailers) // 2
    table = tables[index % len(tables)]
    retailer = retailers[index // len(tables) % len(retailers)]
    body = {"retailer_id": retailer, "started_on": f"2023-{counter % 12 + 1:02d}-01"}
    return "POST", f"/v1/sector-tables/{table}/retail-placements", body


def get_series(worker: int, counter: int) -> tuple[str, str, dict[str, Any] | None]:
    """GET /v1/indicators?from=2015-2016&to=2024-2025: ten years (reporting service)."""
    return "GET", "/v1/indicators?from=2015-2016&to=2024-2025", None


PROFILES: dict[str, Profile] = {
    "post_cooperative": post_cooperative,
    "post_placement": post_placement,
    "post_item": post_item,
    "get_items": get_items,
    "get_indicators": get_indicators,
    "get_series": get_series,
}


@dataclass
class LoadResult:
    """What a closed-loop run measured (inside the measured window only)."""

    duration: float
    clients: int
    processes: int
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    client_cpu_seconds: float = 0.0
    errors: int = 0
    expected: int = 200

    @property
    def ok(self) -> int:
        """Answers with the expected status."""
        return self.statuses.get(self.expected, 0)

    @property
    def rate(self) -> float:
        """Expected answers per second."""
        return self.ok / self.duration if self.duration else 0.0

    def percentile(self, q: float) -> float:
        """A latency percentile in ms (nearest rank), NaN without samples."""
        return percentile(self.latencies_ms, q)

    @property
    def client_cores(self) -> float:
        """CPU cores the load generator itself used."""
        return self.client_cpu_seconds / self.duration if self.duration else 0.0


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `samples`; NaN when empty."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


Send = Callable[[str, str, "dict[str, Any] | None"], Awaitable[int]]


def _raw_sender(url: str) -> tuple[Callable[[], Send], Callable[[], Awaitable[None]]]:
    """One lean keep-alive connection per client (bench.http_client)."""
    parsed = urlsplit(url)
    connections: list[Connection] = []

    def make() -> Send:
        connection = Connection(parsed.hostname or "127.0.0.1", parsed.port or 80, AUTH)
        connections.append(connection)

        async def send(method: str, path: str, body: dict[str, Any] | None) -> int:
            payload = None if body is None else json.dumps(body).encode()
            try:
                status, _ = await connection.request(method, path, payload)
            except (HttpError, OSError):
                return -1
            return status

        return send

    async def close() -> None:
        for connection in connections:
            connection.close()

    return make, close


def _httpx_sender(url: str) -> tuple[Callable[[], Send], Callable[[], Awaitable[None]]]:
    """One httpx.AsyncClient per client (a shared pool degrades with 50 concurrent requests)."""
    clients: list[httpx.AsyncClient] = []

    def make() -> Send:
        client = httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30)
        clients.append(client)

        async def send(method: str, path: str, body: dict[str, Any] | None) -> int:
            try:
                return (await client.request(method, path, json=body)).status_code
            except httpx.HTTPError:
                return -1

        return send

    async def close() -> None:
        for client in clients:
            await client.aclose()

    return make, close


SENDERS = {"raw": _raw_sender, "httpx": _httpx_sender}


async def _run_clients(
    url: str,
    profile: Profile,
    worker: int,
    clients: int,
    start_at: float,
    measure_at: float,
    end_at: float,
    expected: int,
    client_kind: str = "raw",
) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    errors = 0
    counter = itertools.count(int(time.time() * 1000) % 10_000_000)
    make, close = SENDERS[client_kind](url)
    cpu_at_measure: list[float] = []
    await asyncio.sleep(max(0.0, start_at - time.time()))

    async def one_client() -> None:
        nonlocal errors
        send = make()
        while True:
            sent = time.time()
            if sent >= end_at:
                return
            method, path, body = profile(worker, next(counter))
            began = time.perf_counter()
            status = await send(method, path, body)
            elapsed = (time.perf_counter() - began) * 1000
            if sent >= measure_at:
                if not cpu_at_measure:
                    cpu_at_measure.append(time.process_time())
                if status < 0:
                    errors += 1
                statuses[status] += 1
                if status == expected:
                    latencies.append(elapsed)

    try:
        await asyncio.gather(*(one_client() for _ in range(clients)))
    finally:
        await close()
    cpu = time.process_time() - (cpu_at_measure[0] if cpu_at_measure else time.process_time())
    return {"statuses": dict(statuses), "latencies": latencies, "errors": errors, "cpu": cpu}


def closed_loop(
    url: str,
    profile: str,
    *,
    clients: int,
    duration: float,
    warmup: float,
    processes: int = 1,
    expected: int = 200,
    client: str = "raw",
    on_window: Callable[[str], None] | None = None,
    data: dict[str, Any] | None = None,
) -> LoadResult:
    """Run `clients` concurrent clients on `url` for `warmup` + `duration` seconds.

    The clients run in `processes` child processes (`python -m bench.loadgen`); this process
    sends no request. `on_window("start")` and `on_window("end")` are called here at the edges
    of the measured window, e.g. to read a server's CPU time. `data` reaches the profile in
    each worker as `PROFILE_DATA`.
    """
    processes = max(1, min(processes, clients))
    shares = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    results = Path(tempfile.mkdtemp(prefix="coop-loadgen-"))
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in shares
    ]
    try:
        for worker in workers:  # each has imported everything it needs
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError("a load generator worker did not start")
        start_at = time.time() + 0.1
        measure_at = start_at + warmup
        end_at = measure_at + duration
        for index, (worker, share) in enumerate(zip(workers, shares, strict=True)):
            assert worker.stdin is not None
            order = {
                "url": url,
                "profile": profile,
                "worker": index,
                "clients": share,
                "start_at": start_at,
                "measure_at": measure_at,
                "end_at": end_at,
                "expected": expected,
                "client": client,
                "result_path": str(results / f"worker-{index}.json"),
                "data": data or {},
            }
            worker.stdin.write(json.dumps(order) + "\n")
            worker.stdin.flush()
        if on_window is not None:
            time.sleep(max(0.0, measure_at - time.time()))
            on_window("start")
            time.sleep(max(0.0, end_at - time.time()))
            on_window("end")
        parts = []
        for index, worker in enumerate(workers):
            worker.wait(timeout=duration + warmup + 120)
            if worker.returncode != 0:
                raise RuntimeError(f"a load generator worker failed ({worker.returncode})")
            parts.append(json.loads((results / f"worker-{index}.json").read_text()))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        shutil.rmtree(results, ignore_errors=True)
    result = LoadResult(duration, clients, processes, expected=expected)
    for part in parts:
        result.statuses.update({int(k): v for k, v in part["statuses"].items()})
        result.latencies_ms.extend(part["latencies"])
        result.errors += part["errors"]
        result.client_cpu_seconds += part["cpu"]
    return result


def _serve_one_order() -> None:
    """Worker side: say ready, read one order from stdin, run it, print the result as JSON."""
    print("ready", flush=True)
    order = json.loads(sys.stdin.readline())
    PROFILE_DATA.update(order.get("data") or {})
    result = run_async(
        _run_clients(
            order["url"],
            PROFILES[order["profile"]],
            order["worker"],
            order["clients"],
            order["start_at"],
            order["measure_at"],
            order["end_at"],
            order["expected"],
            order.get("client", "raw"),
        )
    )
    Path(order["result_path"]).write_text(json.dumps(result))


if __name__ == "__main__":
    _serve_one_order()
