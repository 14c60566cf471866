"""`coop import` figures (issue "Bringing existing records in"): rows per second beside the
same records sent as direct API calls, measured in the same run on the same services."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.context import Context
from bench.infra import AUTH, nats_server, run_async, service_process
from bench.report import Row, at_most
from services.importer.run import CONCURRENCY, Endpoints, check_file, record_rows


def _cooperative_rows(count: int, prefix: str) -> bytes:
    lines = ["name,region,sector,worker_members,joined_on,external_ref"]
    lines += [f"Coop {prefix} {n},06,informatique,5,2021-03-01,{prefix}-{n}" for n in range(count)]
    return ("\n".join(lines) + "\n").encode()


async def _direct_calls(url: str, count: int, prefix: str) -> float:
    """The same joins sent straight to the API, as many at a time as the importer sends."""
    limit = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=30) as client:

        async def one(n: int) -> None:
            async with limit:
                response = await client.post(
                    "/v1/cooperatives",
                    json={"name": f"Coop {prefix} {n}", "region": "06", "sector": "informatique",
                          "worker_members": 5, "joined_on": "2021-03-01"},
                )  # fmt: skip
                assert response.status_code == 201, response.text

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        return time.perf_counter() - started


async def _import(endpoints: Endpoints, kind: str, data: bytes, *, record: bool) -> float:
    async with endpoints.client() as client:
        started = time.perf_counter()
        check = await check_file(kind, data, endpoints, client)
        assert check.clean, [p.describe("en") for p in check.problems[:5]]
        if record:
            summary = await record_rows(check, endpoints, client)
            assert not summary.refused, [p.describe("en") for p in summary.refused[:5]]
        return time.perf_counter() - started


def imports(ctx: Context) -> list[Row]:
    """10,000 cooperative rows imported; the check alone of 100,000 attendance rows."""
    quick = ctx.sizes.events < 10_000
    cooperatives = 500 if quick else 10_000
    attendances = 5_000 if quick else 100_000
    directory = ctx.directory("imports")
    with nats_server(directory / "nats") as nats:
        membership = service_process("membership", directory, nats.url)
        events = service_process("events", directory, nats.url)
        with membership.start(), events.start():
            membership.wait_http()
            events.wait_http()
            token = AUTH["Authorization"].removeprefix("Bearer ")
            endpoints = Endpoints({"membership": membership.url, "events": events.url}, token)
            ctx.log(f"figure: import of {cooperatives:,} cooperative rows")
            direct = run_async(_direct_calls(membership.url, cooperatives, "direct"))
            imported = run_async(
                _import(endpoints, "cooperatives", _cooperative_rows(cooperatives, "imp"),
                        record=True)
            )  # fmt: skip
            ctx.log(f"figure: check of {attendances:,} attendance rows")
            data = _attendance_rows(membership.url, events.url, attendances)
            checked = run_async(_import(endpoints, "attendances", data, record=False))
    return [
        Row("import.direct", f"{cooperatives:,} joins, direct API calls ({CONCURRENCY} at once)",
            direct, "s", is_baseline=True),
        Row("import.cooperatives", f"coop import cooperatives, {cooperatives:,} rows",
            imported, "s", ["import.direct"], at_most(60) if not quick else None,
            f"{cooperatives / imported:,.0f} rows/s"),
        Row("import.check.attendances", f"coop import attendances --dry-run, {attendances:,} rows",
            checked, "s", target=at_most(30) if not quick else None,
            note=f"{attendances / checked:,.0f} rows/s"),
    ]  # fmt: skip


def _attendance_rows(membership: str, events: str, count: int) -> bytes:
    """Rows naming 200 member cooperatives and 500 activities, by external reference."""
    with httpx.Client(headers=AUTH, timeout=30) as client:
        for n in range(200):
            client.post(
                f"{membership}/v1/cooperatives",
                json={"name": f"Membre {n}", "region": "06", "sector": "design",
                      "worker_members": 3, "joined_on": "2020-01-01",
                      "external_ref": f"membre-{n}"},
            ).raise_for_status()  # fmt: skip
        for n in range(500):
            client.post(
                f"{events}/v1/activities",
                json={"type": "formation", "title": f"Formation {n}", "date": "2023-10-01",
                      "format": "remote", "external_ref": f"activite-{n}"},
            ).raise_for_status()  # fmt: skip
    seen: set[tuple[int, int]] = set()
    lines = ["activity_external_ref,cooperative_external_ref,participants"]
    n = 0
    while len(lines) <= count:
        pair = (n % 500, (n // 500) % 200)
        n += 1
        if pair in seen:
            continue
        seen.add(pair)
        lines.append(f"activite-{pair[0]},membre-{pair[1]},2")
    return ("\n".join(lines) + "\n").encode()
