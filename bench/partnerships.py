"""The partnerships service's figures: retail placements recorded at N clients, and how far
the reporting projection lags behind `COOP_PARTNERSHIPS` during that load and after it.

A placement is a command on an existing sector table (the table's events are loaded, a retailer
is checked in the directory, one open placement per retailer is enforced), so it is the
service's busiest write path once the directory and the tables exist.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from bench.context import Context
from bench.infra import AUTH, Process, nats_server, run_async, service_process, wait_until
from bench.loadgen import closed_loop, percentile
from bench.report import Row

STREAM = "COOP_PARTNERSHIPS"


def _setup(service: Process, tables: int, retailers: int) -> dict[str, list[str]]:
    """Retailers and sector tables the placements go to."""
    with httpx.Client(base_url=service.url, headers=AUTH, timeout=30) as client:

        def created(path: str, body: dict[str, Any]) -> str:
            answer = client.post(path, json=body)
            answer.raise_for_status()
            return str(answer.json()["id"])

        table = {"sector": "microbrasserie", "formed_on": "2022-11-01"}
        return {
            "retailers": [
                created("/v1/partners", {"name": f"Épicerie d'essai {n}", "kind": "detaillant"})
                for n in range(retailers)
            ],
            "tables": [
                created("/v1/sector-tables", {"name": f"Table d'essai {n}", **table})
                for n in range(tables)
            ],
        }


def _stream_status(reporting: Process) -> dict[str, Any] | None:
    try:
        streams = httpx.get(reporting.url + "/v1/projections/status", timeout=10).json()
        status: dict[str, Any] = streams["streams"][STREAM]
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    return status


def _stored_events(service: Process, ids: dict[str, list[str]]) -> int:
    """Events recorded: a partner, a table and a placement are one event each."""
    placements = 0
    with httpx.Client(base_url=service.url, headers=AUTH, timeout=30) as client:
        for table in ids["tables"]:
            cursor = None
            while True:
                params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
                page = client.get(f"/v1/sector-tables/{table}/retail-placements", params=params)
                body = page.json()
                placements += len(body["items"])
                cursor = body["next_cursor"]
                if not cursor:
                    break
    return len(ids["retailers"]) + len(ids["tables"]) + placements


class LagSampler:
    """Samples the reporting service's progress on the stream every 0.05 s in a thread."""

    def __init__(self, reporting: Process) -> None:
        self.reporting = reporting
        self.samples: list[tuple[float, float, int]] = []  # (perf_counter, lag, last_applied)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            status = _stream_status(self.reporting)
            if status is not None:
                sample = (time.perf_counter(), float(status["lag"]), int(status["last_applied"]))
                self.samples.append(sample)

    def lags(self, since: float, until: float) -> list[float]:
        """The lags sampled in a time window."""
        return [lag for at, lag, _ in self.samples if since <= at <= until]

    def applied_at(self, events: int) -> float | None:
        """When the first sample showed `events` applied."""
        return next((at for at, _, applied in self.samples if applied >= events), None)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def _caught_up(reporting: Process, events: int, timeout: float) -> float:
    """Seconds until the reporting service has applied `events` messages of the stream."""
    started = time.perf_counter()

    def applied() -> bool:
        status = _stream_status(reporting)
        return status is not None and int(status["last_applied"]) >= events

    wait_until(applied, timeout=timeout, interval=0.02, what=f"reporting caught up on {STREAM}")
    return time.perf_counter() - started


async def _drop_consumers(nats_url: str) -> None:
    """Delete the stream's durable consumers (those of a reporting service now stopped)."""
    import nats

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for consumer in await js.consumers_info(STREAM):
            await js.delete_consumer(STREAM, consumer.name)
    finally:
        await nc.close()


def partnerships(ctx: Context) -> list[Row]:
    """Placements/s at N clients on SQLite; the reporting lag on COOP_PARTNERSHIPS."""
    sizes = ctx.sizes
    directory = ctx.directory("partnerships")
    clients = sizes.clients
    with nats_server(directory / "nats") as nats:
        service = service_process("partnerships", directory / "partnerships", nats.url)
        reporting = service_process("reporting", directory / "reporting", nats.url)
        with service.start(), reporting.start():
            service.wait_http()
            reporting.wait_http()
            ctx.log("figure: partnerships, setting up retailers and sector tables")
            ids = _setup(service, tables=2 * clients, retailers=100)
            ctx.log(f"figure: placements, {clients} clients × {sizes.duration:.0f} s")
            sampler = LagSampler(reporting)
            cpu: dict[str, float] = {}
            window: dict[str, float] = {}

            def on_window(edge: str) -> None:
                cpu[edge] = service.cpu_seconds()
                window[edge] = time.perf_counter()

            sampler.start()
            result = closed_loop(
                service.url,
                "post_placement",
                clients=clients,
                duration=sizes.duration,
                warmup=sizes.warmup,
                processes=ctx.client_processes,
                client=ctx.client,
                expected=201,
                on_window=on_window,
                data=ids,
            )
            ended = time.perf_counter()
            events = _stored_events(service, ids)
            _caught_up(reporting, events, timeout=300)
            time.sleep(0.1)
            sampler.stop()
            caught_up_at = sampler.applied_at(events) or time.perf_counter()
            drained = max(0.0, caught_up_at - ended)
            lag = sampler.lags(window["start"], window["end"]) or [float("nan")]
            reporting.stop()
            run_async(_drop_consumers(nats.url))  # the fresh service's durables start at 1
            ctx.log(f"figure: a fresh reporting service replays {events:,} events of {STREAM}")
            fresh = service_process("reporting", directory / "reporting-fresh", nats.url)
            with fresh.start():
                fresh.wait_http("/healthz")
                rebuild = _caught_up(fresh, events, timeout=600)
    server_cores = (cpu["end"] - cpu["start"]) / sizes.duration
    others = {k: v for k, v in result.statuses.items() if k != 201}
    note = f"server {server_cores:.2f} cores, client {result.client_cores:.2f} cores" + (
        f"; other answers {others}" if others else ""
    )
    label = f"HTTP POST /v1/sector-tables/…/retail-placements → 201, SQLite, {clients} clients"
    return [
        Row("partnerships.placements.rate", label, result.rate, "req/s", ["http.post.rate"],
            note=note),
        Row("partnerships.placements.p50", "  … placements p50", result.percentile(50), "ms",
            ["http.post.p50"]),
        Row("partnerships.placements.p99", "  … placements p99", result.percentile(99), "ms",
            ["http.post.p99"]),
        Row("partnerships.lag.max", f"reporting lag on {STREAM} during that load, max",
            max(lag), "events", [],
            note=f"p50 {percentile(lag, 50):,.0f} events over {len(lag)} samples"),
        Row("partnerships.lag.drained", f"  … {STREAM} fully projected after the load ends",
            drained, "s", [], note=f"{events:,} events on the stream; sampled every 0.05 s"),
        Row("partnerships.projection.rate", f"projection rebuild, {STREAM} → reporting model",
            events / rebuild if rebuild > 0 else float("nan"), "events/s", ["nats.consume"],
            note=f"{events:,} events in {rebuild:.2f} s; fresh `coop serve reporting`, SQLite"),
    ]  # fmt: skip
