"""The platform's figures (issue 8), each beside the baselines it is compared with.

Every figure runs the real code: `coop serve …` processes for HTTP, freshness, projection,
memory and start-up; the services' own OutboxRelay and Membership application in this
process for the relay. Each starts its own nats-server and, for PostgreSQL, its own schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.baselines import publish_baselines
from bench.context import Context
from bench.history import RECORDED_FROM, publish_history
from bench.http_client import Connection, HttpError
from bench.infra import (
    AUTH,
    FSYNC_ALWAYS,
    FSYNC_DEFAULT,
    ROOT,
    Process,
    metric_values,
    nats_server,
    run_async,
    service_process,
    wait_until,
)
from bench.loadgen import closed_loop, join_body, percentile
from bench.report import Row, at_least, at_most, skipped
from shared.nats_server import free_port

FISCAL_YEAR = "2023-2024"
MEMORY_TARGET = at_most(200)


@contextlib.contextmanager
def _store(ctx: Context, store: str) -> Iterator[str | None]:
    """None for SQLite (the embedded default), else a fresh PostgreSQL schema's URL."""
    if store == "sqlite":
        yield None
    else:
        with ctx.postgres() as schema:
            yield schema.url


# --- HTTP commands -----------------------------------------------------------------------------


def commands(ctx: Context) -> list[Row]:
    """POST /v1/cooperatives → 201 with 50 concurrent clients, SQLite and PostgreSQL."""
    sizes = ctx.sizes
    rows: list[Row] = []
    targets = {"sqlite": at_least(2000), "postgres": at_least(1000)}
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    for store in ("sqlite", "postgres"):
        label = f"HTTP POST /v1/cooperatives → 201, {names[store]}, {sizes.clients} clients"
        keys = [f"commands.{store}.{part}" for part in ("rate", "p50", "p99")]
        if store == "postgres" and ctx.postgres_problem:
            rows += [
                skipped(keys[0], label, "req/s", ctx.postgres_problem, target=targets[store]),
                skipped(keys[1], f"  … {names[store]} p50", "ms", ctx.postgres_problem),
                skipped(keys[2], f"  … {names[store]} p99", "ms", ctx.postgres_problem,
                        target=at_most(50)),
            ]  # fmt: skip
            continue
        ctx.log(f"figure: commands on {names[store]}, {sizes.clients} clients")
        directory = ctx.directory(f"commands-{store}")
        with nats_server(directory / "nats") as nats, _store(ctx, store) as url:
            service = service_process("membership", directory, nats.url, database_url=url)
            with service.start():
                service.wait_http()
                cpu: dict[str, float] = {}
                result = closed_loop(
                    service.url,
                    "post_cooperative",
                    clients=sizes.clients,
                    duration=sizes.duration,
                    warmup=sizes.warmup,
                    processes=ctx.client_processes,
                    client=ctx.client,
                    expected=201,
                    on_window=lambda edge, s=service, c=cpu: c.__setitem__(edge, s.cpu_seconds()),
                )
                rss = service.rss_mib()
                stored = _count_stored(service)
        server_cores = (cpu["end"] - cpu["start"]) / sizes.duration
        others = {k: v for k, v in result.statuses.items() if k != 201}
        note = f"server {server_cores:.2f} cores, client {result.client_cores:.2f} cores" + (
            f"; other answers {others}" if others else ""
        )
        store_baseline = f"es.{store}.single"
        rows += [
            Row(keys[0], label, result.rate, "req/s", ["http.post.rate", store_baseline],
                targets[store], note),
            Row(keys[1], f"  … {names[store]} p50", result.percentile(50), "ms",
                ["http.post.p50"]),
            Row(keys[2], f"  … {names[store]} p99", result.percentile(99), "ms",
                ["http.post.p99"], at_most(50)),
        ]  # fmt: skip
        if store == "sqlite":
            rows.append(
                Row("memory.membership", "RSS membership after the command load", rss, "MiB",
                    ["http.rss"], MEMORY_TARGET, f"{stored:,} events in its store")
            )  # fmt: skip
    return rows


def _count_stored(service: Process) -> int:
    """How many cooperatives the service lists (one event each in this load)."""
    total, cursor = 0, None
    with httpx.Client(base_url=service.url, headers=AUTH, timeout=30) as client:
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/cooperatives", params=params).json()
            total += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return total


# --- relay -----------------------------------------------------------------------------------


def relay(ctx: Context) -> list[Row]:
    """The membership service's OutboxRelay publishing N stored events, SQLite and PostgreSQL."""
    return _relay_rows(ctx, fsync_always=True, baselines=["nats.publish", "nats.publish.atomic"])


def relay_default_sync(ctx: Context) -> list[Row]:
    """The same relay figures on a nats-server with its default sync, beside its raw publish.

    The compose deployment and the three-node cluster (deploy/nats/*.conf) leave nats-server's
    sync interval at its default; the embedded server fsyncs every message before the ack.
    """
    messages = ctx.sizes.nats_messages
    ctx.log(f"baseline: nats-py JetStream publish, {FSYNC_DEFAULT}, {messages:,} messages")
    with nats_server(ctx.directory("nats-raw-default-sync"), fsync_always=False) as server:
        publish, atomic = run_async(publish_baselines(server.url, messages))
    baselines = [
        Row("nats.publish.default_sync", "NATS JetStream publish_async (raw nats-py), default sync",
            publish, "msg/s", is_baseline=True,
            note=f"{messages:,} × ~450 B, file store, Nats-Msg-Id; {FSYNC_DEFAULT}"),
        Row("nats.publish.atomic.default_sync",
            "NATS JetStream atomic batch publish (raw nats-py), default sync", atomic, "msg/s",
            note=f"batches of 1,000, two in flight, Nats-Msg-Id; {FSYNC_DEFAULT}",
            is_baseline=True),
    ]  # fmt: skip
    keys = [row.key for row in baselines]
    return [*baselines, *_relay_rows(ctx, fsync_always=False, baselines=keys)]


def _relay_rows(ctx: Context, *, fsync_always: bool, baselines: list[str]) -> list[Row]:
    rows: list[Row] = []
    n = ctx.sizes.relay_events
    policy = FSYNC_ALWAYS if fsync_always else FSYNC_DEFAULT
    suffix = "" if fsync_always else ".default_sync"
    for store, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        key = f"relay.{store}{suffix}"
        label = f"relay store → JetStream, {name}, {n:,} events" + (
            "" if fsync_always else ", default sync"
        )
        if store == "postgres" and ctx.postgres_problem:
            rows.append(skipped(key, label, "events/s", ctx.postgres_problem,
                                baselines=baselines, target=at_least(20_000)))  # fmt: skip
            continue
        ctx.log(f"figure: relay on {name}, nats-server {policy}, pre-filling {n:,} events")
        directory = ctx.directory(f"relay-{store}{suffix.replace('.', '-')}")
        with (
            nats_server(directory / "nats", fsync_always=fsync_always) as nats,
            _store(ctx, store) as url,
        ):
            database_url = url or f"sqlite:///{directory / 'membership.sqlite3'}"
            fill_rate, rate, published = _relay_run(ctx, database_url, nats.url, n)
        rows.append(
            Row(key, label, rate, "events/s", baselines, at_least(20_000),
                f"{published:,} on the stream; nats-server {policy}; pre-fill "
                f"{fill_rate:,.0f} events/s (application, 1,000 per save)")
        )  # fmt: skip
    return rows


def _relay_run(ctx: Context, database_url: str, nats_url: str, n: int) -> tuple[float, float, int]:
    from services.membership import views
    from services.membership.application import Membership
    from services.membership.domain import Cooperative
    from shared.persistence import CommandContext, Database

    database = Database(database_url, app_name="membership")
    database.create_tables(views.metadata)
    app = Membership(database)
    try:
        started = time.perf_counter()
        counter = itertools.count()
        stored = 0
        while stored < n:
            batch: list[Cooperative] = []
            events = 0
            while events < min(1000, n - stored):
                i = next(counter)
                body = join_body(0, i)
                body["joined_on"] = date.fromisoformat(body["joined_on"])
                cooperative = Cooperative(id=uuid.uuid4(), **body)
                events += 1
                if i % 10 == 1 and events < min(1000, n - stored):
                    cooperative.update_profile({"worker_members": body["worker_members"] + 1})
                    events += 1
                if i % 10 == 2 and events < min(1000, n - stored):
                    cooperative.leave(date(2024, 6, 30), "fermeture")
                    events += 1
                batch.append(cooperative)
            app.record(CommandContext(correlation_id=str(uuid.uuid4())), *batch)
            stored += events
        fill_rate = n / (time.perf_counter() - started)
        rate, published = run_async(_time_relay(app, nats_url))
    finally:
        app.close()
        database.dispose()
    return fill_rate, rate, published


async def _time_relay(app: Any, nats_url: str) -> tuple[float, int]:
    from services.membership.contracts import MEMBERSHIP, to_integration
    from shared.messaging import Messaging
    from shared.metrics import ServiceMetrics
    from shared.outbox import OutboxRelay

    messaging = Messaging(nats_url, name="bench-relay")
    await messaging.connect()
    await messaging.ensure_stream(MEMBERSHIP)
    latest = app.recorder.max_notification_id()
    relay = OutboxRelay(app, messaging, MEMBERSHIP, to_integration, ServiceMetrics("membership"))
    started = time.perf_counter()
    task = asyncio.create_task(relay.run())
    try:
        while relay.position < latest:
            if task.done():
                task.result()
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - started
    finally:
        relay.stop()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    js = await messaging.jetstream()
    published = (await js.stream_info(MEMBERSHIP.stream)).state.messages
    await messaging.close()
    return latest / elapsed, published


# --- projection, indicators and memory ---------------------------------------------------------


def projection(ctx: Context) -> list[Row]:
    """Rebuild of N integration events by a fresh reporting service; indicators; memory."""
    n = ctx.sizes.events
    directory = ctx.directory("projection")
    rows: list[Row] = []
    with nats_server(directory / "nats") as nats:
        ctx.log(f"figure: projection, publishing {n:,} integration events")
        per_stream, publish_rate = run_async(publish_history(nats.url, n))
        ctx.log(f"published {per_stream} at {publish_rate:,.0f} msg/s; starting reporting")
        reporting = service_process("reporting", directory, nats.url)
        with reporting.start():
            reporting.wait_http("/healthz")
            cpu_before = reporting.cpu_seconds()
            rate, seconds = _time_catch_up(reporting, n)
            cpu = reporting.cpu_seconds() - cpu_before
            ctx.log(f"reporting caught up: {rate:,.0f} events/s ({seconds:.1f} s)")
            rss_projected = reporting.rss_mib()
            ctx.log(f"figure: GET /v1/indicators/{FISCAL_YEAR}, {ctx.sizes.read_clients} clients")
            reads = closed_loop(
                reporting.url,
                "get_indicators",
                clients=ctx.sizes.read_clients,
                duration=min(ctx.sizes.duration, 10),
                warmup=ctx.sizes.warmup,
                client=ctx.client,
            )
            rss_reporting = max(rss_projected, reporting.rss_mib())
            ctx.log(f"figure: GET /v1/indicators/{FISCAL_YEAR}?as_recorded=…, one at a time")
            recorded = _time_as_recorded(reporting, n, ctx.sizes.audit_requests)
            ctx.log(f"figure: GET /v1/indicators?from={SERIES[0]}&to={SERIES[1]}")
            first_series = _time_get(reporting, SERIES_PATH)
            series = closed_loop(
                reporting.url,
                "get_series",
                clients=ctx.sizes.read_clients,
                duration=min(ctx.sizes.duration, 10),
                warmup=ctx.sizes.warmup,
                client=ctx.client,
            )
            rss_audited = reporting.rss_mib()
        rows += [
            Row("projection.rate", f"projection rebuild, {n:,} events → reporting model", rate,
                "events/s", ["nats.consume"], at_least(15_000),
                f"{seconds:.1f} s; fresh `coop serve reporting`, SQLite; server "
                f"{cpu / seconds:.2f} cores, {cpu / n * 1e6:.0f} µs CPU per event; "
                f"1,000,000 would take {1_000_000 / rate:.0f} s (target ≤ 70 s)"),
            Row("indicators.p50", f"GET /v1/indicators/{FISCAL_YEAR} with {n:,} events, p50",
                reads.percentile(50), "ms", ["http.get.p50"]),
            Row("indicators.p99", f"GET /v1/indicators/{FISCAL_YEAR} with {n:,} events, p99",
                reads.percentile(99), "ms", ["http.get.p99"], at_most(100),
                f"{reads.clients} clients, {reads.rate:,.1f} req/s"),
            Row("as_recorded.p50", f"GET /v1/indicators/{FISCAL_YEAR}?as_recorded= with {n:,} "
                "events, p50", percentile(recorded, 50), "ms", ["http.get.p50"]),
            Row("as_recorded.p99", f"GET /v1/indicators/{FISCAL_YEAR}?as_recorded= with {n:,} "
                "events, p99", percentile(recorded, 99), "ms", ["http.get.p99"], at_most(2_000),
                f"{len(recorded)} requests one at a time, each at another instant (no cache): "
                f"{AUDIT_SHARE:.0%} of the history recorded by then, max "
                f"{max(recorded, default=float('nan')):,.0f} ms"),
            Row("series.p50", f"GET /v1/indicators?from={SERIES[0]}&to={SERIES[1]} with {n:,} "
                "events, p50", series.percentile(50), "ms", ["http.get.p50"]),
            Row("series.p99", f"GET /v1/indicators?from={SERIES[0]}&to={SERIES[1]} with {n:,} "
                "events, p99", series.percentile(99), "ms", ["http.get.p99"], at_most(500),
                f"10 years; {series.clients} clients, {series.rate:,.1f} req/s; the first "
                f"request (every year computed) {first_series:,.0f} ms"),
            Row("memory.reporting", f"RSS reporting after projecting {n:,} events", rss_reporting,
                "MiB", ["http.rss"], MEMORY_TARGET, "and after the indicator reads; "
                f"{rss_audited:,.0f} MiB after the as_recorded and series reads"),
        ]  # fmt: skip
        members = per_stream.get("COOP_MEMBERSHIP", 0)
        for name in ("events", "ambassadors"):
            ctx.log(f"memory: {name} catching up {members:,} membership events")
            service = service_process(name, directory, nats.url)
            with service.start():
                service.wait_http()
                seconds = _wait_membership_view(service, members)
                rss = service.rss_mib()
            rows.append(
                Row(f"memory.{name}", f"RSS {name} after its view of the same history", rss,
                    "MiB", ["http.rss"], MEMORY_TARGET,
                    f"consumed {members:,} membership events in {seconds:.1f} s")
            )  # fmt: skip
    return rows


# The audit query's instants: when this share of the history had been recorded (a year ago
# in a ten-year history), a millisecond apart from one request to the next.
AUDIT_SHARE = 0.9
SERIES = ("2015-2016", "2024-2025")
SERIES_PATH = f"/v1/indicators?from={SERIES[0]}&to={SERIES[1]}"


def _time_get(reporting: Process, path: str) -> float:
    """One GET's latency in ms (it must answer 200)."""
    with httpx.Client(base_url=reporting.url, timeout=300) as client:
        started = time.perf_counter()
        answer = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    return elapsed


def _time_as_recorded(reporting: Process, n: int, requests: int) -> list[float]:
    """Latencies (ms) of `requests` as_recorded GETs one at a time, each at its own instant."""
    latencies = []
    for number in range(requests):
        instant = RECORDED_FROM + timedelta(milliseconds=int(AUDIT_SHARE * n) + number)
        moment = instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        path = f"/v1/indicators/{FISCAL_YEAR}?as_recorded={moment}"
        latencies.append(_time_get(reporting, path))
    return latencies


def _time_catch_up(reporting: Process, n: int) -> tuple[float, float]:
    """Poll /v1/projections/status until every stream is applied; return events/s, seconds."""
    first: tuple[float, int] | None = None
    deadline = time.monotonic() + max(600, n / 500)
    with httpx.Client(base_url=reporting.url, timeout=30) as client:
        while time.monotonic() < deadline:
            try:
                streams = client.get("/v1/projections/status").json()["streams"]
            except (httpx.HTTPError, ValueError, KeyError):
                time.sleep(0.02)
                continue
            now = time.perf_counter()
            applied = sum(s["last_applied"] for s in streams.values())
            if first is None:
                first = (now, applied)
            if applied >= n:
                seconds = now - first[0]
                return (n - first[1]) / seconds if seconds > 0 else float("nan"), seconds
            time.sleep(0.05)
    raise TimeoutError("the reporting service did not catch up")


def _wait_membership_view(service: Process, members: int) -> float:
    """Wait until the service's membership consumer has applied `members` messages."""
    started = time.perf_counter()

    def applied() -> bool:
        try:
            text = httpx.get(service.url + "/metrics", timeout=10).text
        except httpx.HTTPError:
            return False
        values = metric_values(text, "coop_consumer_applied_messages_total")
        return sum(values.values()) >= members

    wait_until(applied, timeout=max(300, members / 200), interval=0.1, what="membership view")
    return time.perf_counter() - started


# --- freshness -------------------------------------------------------------------------------


def freshness(ctx: Context) -> list[Row]:
    """201 → visible in /v1/indicators while commands arrive at a steady rate."""
    sizes = ctx.sizes
    directory = ctx.directory("freshness")
    ctx.log(f"figure: freshness at {sizes.freshness_rate:.0f} commands/s")
    with nats_server(directory / "nats") as nats:
        membership = service_process("membership", directory, nats.url)
        reporting = service_process("reporting", directory, nats.url)
        with membership.start(), reporting.start():
            membership.wait_http()
            reporting.wait_http()
            result = run_async(
                _freshness(membership.url, reporting.url, sizes.freshness_rate, sizes.duration,
                           sizes.warmup)
            )  # fmt: skip
    lags, offered, accepted, polls, missing = result
    shortfall = (
        f"NOT AT {sizes.freshness_rate:.0f}/s (membership accepts only {accepted:,.0f}/s); "
        if accepted < 0.9 * sizes.freshness_rate
        else ""
    )
    note = shortfall + (
        f"offered {offered:,.0f}/s, accepted (201) {accepted:,.0f}/s; {len(lags)} probes; "
        f"poll period {polls:.1f} ms" + (f"; {missing} probes never seen" if missing else "")
    )
    rate = f"{sizes.freshness_rate:.0f}"
    return [
        Row("freshness.p50", f"freshness 201 → /v1/indicators at {rate} cmd/s, p50",
            percentile(lags, 50), "ms", ["nats.latency.p50"], at_most(50), note,
            condition_reached=not shortfall),
        Row("freshness.p99", f"freshness 201 → /v1/indicators at {rate} cmd/s, p99",
            percentile(lags, 99), "ms", ["nats.latency.p99"], at_most(250),
            condition_reached=not shortfall),
    ]  # fmt: skip


async def _freshness(
    membership_url: str, reporting_url: str, rate: float, duration: float, warmup: float
) -> tuple[list[float], float, float, float, int]:
    """Open-loop commands at `rate`; every 25th is a probe with its own sector, watched for."""
    m_host, m_port = _host_port(membership_url)
    r_host, r_port = _host_port(reporting_url)
    idle: list[Connection] = []
    in_flight = 0
    limit = 200
    accepted_at: list[float] = []
    probes: dict[str, float] = {}  # sector → time of its 201
    seen: dict[str, float] = {}
    poll_times: list[float] = []
    begin = time.perf_counter()
    measure_from = begin + warmup
    stop_at = measure_from + duration
    offered = 0

    async def command(counter: int, probe: str | None) -> None:
        nonlocal in_flight
        connection = idle.pop() if idle else Connection(m_host, m_port, AUTH)
        body = join_body(7, counter)
        if probe:
            body.update(sector=probe, joined_on="2024-01-15")
        try:
            if probe:  # a sector must be on the list before a cooperative joins in it
                label = {"fr": probe, "en": probe}
                await connection.request_json("PUT", f"/v1/sectors/{probe}", {"label": label})
            status, _ = await connection.request_json("POST", "/v1/cooperatives", body)
        except (HttpError, OSError):
            status = -1
        now = time.perf_counter()
        in_flight -= 1
        idle.append(connection)
        if status == 201:
            if now >= measure_from:
                accepted_at.append(now)
            if probe:
                probes[probe] = now

    async def poll() -> None:
        connection = Connection(r_host, r_port)
        path = f"/v1/indicators/{FISCAL_YEAR}"
        while not (sending_done.is_set() and set(probes) <= set(seen)):
            if sending_done.is_set() and time.perf_counter() > done_at[0] + 10:
                break
            asked = time.perf_counter()
            try:
                status, answer = await connection.request_json("GET", path)
            except (HttpError, OSError):
                await asyncio.sleep(0.01)
                continue
            now = time.perf_counter()
            poll_times.append(now - asked)
            if status != 200:
                continue
            for sector in answer["indicators"]["members.by_sector"]:
                if sector.startswith("probe-") and sector not in seen:
                    seen[sector] = now

    sending_done = asyncio.Event()
    done_at = [0.0]
    poller = asyncio.create_task(poll())
    tasks = set()
    for counter in itertools.count():
        due = begin + counter / rate
        if due >= stop_at:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if due >= measure_from:
            offered += 1
        if in_flight >= limit:
            continue
        in_flight += 1
        probe = f"probe-{counter}" if counter % 25 == 0 and due >= measure_from else None
        task = asyncio.create_task(command(counter, probe))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    done_at[0] = time.perf_counter()
    sending_done.set()
    await poller
    lags = [(seen[s] - t) * 1000 for s, t in probes.items() if s in seen]
    missing = len(set(probes) - set(seen))
    mean_poll = sum(poll_times) / len(poll_times) * 1000 if poll_times else float("nan")
    return lags, offered / duration, len(accepted_at) / duration, mean_poll, missing


def _host_port(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").partition(":")
    return host, int(port)


# --- cold start ------------------------------------------------------------------------------


def cold_start(ctx: Context) -> list[Row]:
    """`coop up` on an empty data dir until all four /readyz answer 200 (median of 3); warm."""
    attempts = 3 if ctx.sizes.duration >= 5 else 1
    colds = []
    for attempt in range(attempts):
        ctx.log(f"figure: `coop up` cold start {attempt + 1}/{attempts}")
        directory = ctx.directory("cold-start")
        colds.append(_time_up(directory))
    ctx.log("figure: `coop up` warm restart")
    warm = _time_up(directory)
    colds.sort()
    spread = f"{colds[0]:.2f}–{colds[-1]:.2f} s over {attempts}; " if attempts > 1 else ""
    return [
        Row("start.cold", "`coop up` cold start → all four /readyz = 200", colds[len(colds) // 2],
            "s", ["http.start"], at_most(5),
            f"{spread}empty data dir, embedded nats-server; warm restart {warm:.2f} s"),
    ]  # fmt: skip


def _time_up(data_dir: Path) -> float:
    ports = {name: free_port() for name in ("membership", "events", "ambassadors", "reporting")}
    env = {
        **os.environ,
        "COOP_DATA_DIR": str(data_dir),
        "COOP_API_TOKENS": "",
        "COOP_ENV": "development",
        "COOP_LOG_LEVEL": "WARNING",
        **{f"COOP_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    env.pop("COOP_NATS_URL", None)
    log = (data_dir / "coop-up.log").open("ab")
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--data-dir", str(data_dir)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        pending = set(ports)
        with httpx.Client(timeout=1) as client:
            while pending:
                if process.poll() is not None:
                    raise RuntimeError(f"coop up exited with {process.returncode}")
                if time.perf_counter() - started > 60:
                    raise TimeoutError(f"not ready after 60 s: {sorted(pending)}")
                for name in list(pending):
                    try:
                        url = f"http://127.0.0.1:{ports[name]}/readyz"
                        if client.get(url).status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if pending:
                    time.sleep(0.01)
        elapsed = time.perf_counter() - started
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        log.close()
    return elapsed
