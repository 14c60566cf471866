"""`python -m bench`: run the benchmarks and print one table (see docs/performance.md)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench import baselines, faststream_consumers, figures, imports, partnerships
from bench.console import console_pages
from bench.context import DEFAULT, QUICK, Context
from bench.infra import machine, postgres_reachable, postgres_url
from bench.report import Row, render

Benchmark = Callable[[Context], list[Row]]

# name → (function, the baselines its ratios refer to); in run order.
BENCHMARKS: dict[str, tuple[Benchmark, tuple[str, ...]]] = {
    "nats": (baselines.nats_baselines, ()),
    "eventsourcing": (baselines.eventsourcing_baselines, ()),
    "fastapi": (baselines.fastapi_baselines, ()),
    "cold-start": (figures.cold_start, ("fastapi",)),
    "commands": (figures.commands, ("fastapi", "eventsourcing")),
    "relay": (figures.relay, ("nats",)),
    "projection": (figures.projection, ("nats", "fastapi")),
    "freshness": (figures.freshness, ("nats",)),
    "relay-default-sync": (figures.relay_default_sync, ()),
    "imports": (imports.imports, ()),
    "partnerships": (partnerships.partnerships, ("fastapi", "nats")),
    "faststream": (faststream_consumers.faststream_consumers, ()),
    "console": (console_pages, ()),
}


def parser() -> argparse.ArgumentParser:
    """The command's options."""
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Réseau COOP benchmarks: the platform's figures beside their raw baselines.",
    )
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in seconds")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these (repeat or comma-separate): {', '.join(BENCHMARKS)}; "
        "the baselines they compare with run too unless --no-baselines",
    )
    p.add_argument("--no-baselines", action="store_true", help="with --only: skip baselines")
    p.add_argument("--events", type=int, help="integration events for the projection (100,000)")
    p.add_argument("--relay-events", type=int, help="stored events for the relay (50,000)")
    p.add_argument("--duration", type=float, help="seconds of measured HTTP load (10)")
    p.add_argument("--clients", type=int, help="concurrent clients for commands (50)")
    p.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator's HTTP client (raw: bench.http_client; httpx: ~6× the CPU)",
    )
    p.add_argument("--client-processes", type=int, default=1, help="load generator processes (1)")
    p.add_argument("--postgres-url", help="PostgreSQL server (COOP_TEST_POSTGRES_URL, else local)")
    p.add_argument("--json", type=Path, help="also write the rows and the machine as JSON here")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return p


def selected(only: list[str], with_baselines: bool) -> list[str]:
    """The benchmarks to run, in run order."""
    if not only:
        return list(BENCHMARKS)
    names = {n.strip() for item in only for n in item.split(",") if n.strip()}
    unknown = names - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"python -m bench: error: unknown benchmark {sorted(unknown)[0]!r}")
    if with_baselines:
        for name in list(names):
            names.update(BENCHMARKS[name][1])
    return [name for name in BENCHMARKS if name in names]


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, return 0 (1 when a benchmark failed)."""
    args = parser().parse_args(argv)
    sizes = QUICK if args.quick else DEFAULT
    overrides = {
        "events": args.events,
        "relay_events": args.relay_events,
        "duration": args.duration,
        "clients": args.clients,
    }
    sizes = replace(sizes, **{k: v for k, v in overrides.items() if v is not None})
    names = selected(args.only, not args.no_baselines)
    url = postgres_url(args.postgres_url)
    scratch = Path(tempfile.mkdtemp(prefix="coop-bench-"))
    ctx = Context(
        sizes=sizes,
        scratch=scratch,
        postgres_url=url,
        postgres_problem=postgres_reachable(url),
        client=args.client,
        client_processes=args.client_processes,
        verbose=not args.quiet,
    )
    if ctx.postgres_problem:
        ctx.log(f"PostgreSQL figures skipped: {ctx.postgres_problem}")
    rows: list[Row] = []
    failures: list[str] = []
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    try:
        for name in names:
            try:
                rows += BENCHMARKS[name][0](ctx)
            except Exception as error:
                failures.append(f"{name}: {error}")
                ctx.log(f"{name} FAILED:\n{traceback.format_exc()}")
    finally:
        if args.keep:
            ctx.log(f"scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    host = machine()
    header = (
        f"Réseau COOP benchmarks — {host['nproc']} CPU ({host['cpu']}), {host['memory']}, "
        f"Python {host['python']}; events={sizes.events:,}, relay_events={sizes.relay_events:,}, "
        f"HTTP {sizes.duration:g} s after {sizes.warmup:g} s warm-up, client={args.client}"
        f"×{args.client_processes}; run took {time.monotonic() - started:.0f} s; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(render(rows, header, markdown=args.markdown))
    for failure in failures:
        print(f"FAILED {failure}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": host,
                    "sizes": sizes.__dict__,
                    "benchmarks": names,
                    "rows": [row.as_dict() for row in rows],
                    "failures": failures,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
