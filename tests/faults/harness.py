"""The services as real processes, and the checks every fault test ends with.

The four services of v1 run by default; a platform built with `WITH_PARTNERSHIPS` runs the
partnerships service too, and a plan made with `plan_load(seed, partnerships=True)` loads it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.js.errors import NotFoundError

from tests.faults.reference import expected_indicators
from tests.faults.workload import FISCAL_YEAR, YEAR_END, Ledger
from tests.support import ServiceProcess

SERVICES = ("membership", "events", "ambassadors", "reporting")
WITH_PARTNERSHIPS = (*SERVICES, "partnerships")
STREAMS = {
    "COOP_MEMBERSHIP": "membership",
    "COOP_EVENTS": "events",
    "COOP_AMBASSADORS": "ambassadors",
    "COOP_PARTNERSHIPS": "partnerships",
}
STREAM_OF_EVENT = {
    "CoopJoined": "COOP_MEMBERSHIP",
    "CoopProfileUpdated": "COOP_MEMBERSHIP",
    "CoopLeft": "COOP_MEMBERSHIP",
    "CoopRejoined": "COOP_MEMBERSHIP",
    "ActivityScheduled": "COOP_EVENTS",
    "ActivityCancelled": "COOP_EVENTS",
    "ActivityAttended": "COOP_EVENTS",
    "PublicAttendanceRecorded": "COOP_EVENTS",
    "AmbassadorEnrolled": "COOP_AMBASSADORS",
    "AmbassadorActionLogged": "COOP_AMBASSADORS",
    "AmbassadorRetired": "COOP_AMBASSADORS",
    "AmbassadorDeactivated": "COOP_AMBASSADORS",
    "CoopMembershipCorrected": "COOP_MEMBERSHIP",
    "CoopVoided": "COOP_MEMBERSHIP",
    "CoopRestored": "COOP_MEMBERSHIP",
    "ActivityRevised": "COOP_EVENTS",
    "AttendanceCorrected": "COOP_EVENTS",
    "AttendanceWithdrawn": "COOP_EVENTS",
    "PublicAttendanceCorrected": "COOP_EVENTS",
    "PublicAttendanceWithdrawn": "COOP_EVENTS",
    "AmbassadorEnrollmentCorrected": "COOP_AMBASSADORS",
    "AmbassadorActionCorrected": "COOP_AMBASSADORS",
    "AmbassadorActionWithdrawn": "COOP_AMBASSADORS",
    "AmbassadorReactivated": "COOP_AMBASSADORS",
    **dict.fromkeys(
        (
            "PartnerRegistered",
            "PartnerUpdated",
            "PartnerDeactivated",
            "ResearchProjectStarted",
            "ResearchProjectCompleted",
            "SectorTableFormed",
            "SectorTableMemberAdded",
            "SectorTableMemberRemoved",
            "SectorTableActionLogged",
            "SectorTableActionWithdrawn",
            "RetailPlacementSecured",
            "RetailPlacementEnded",
            "SectorTableDissolved",
        ),
        "COOP_PARTNERSHIPS",
    ),
}
CUTOFFS = (YEAR_END, date(2024, 2, 29))
CRASH_POINTS = Path(__file__).resolve().parent / "crashpoints"
CRASH_EXIT_STATUS = 137


def crash_point(spec: str) -> dict[str, str]:
    """The environment that makes a service die at a call (see crashpoints/sitecustomize.py)."""
    return {"PYTHONPATH": str(CRASH_POINTS), "COOP_FAULT_CRASH": spec}


class Platform:
    """`coop serve` for each service, each with its own data dir, on one NATS URL."""

    def __init__(
        self,
        root: Path,
        nats_url: str,
        names: tuple[str, ...] = SERVICES,
        *,
        start_timeout: float = 90,
        **env: dict[str, str],
    ) -> None:
        self.start_timeout = start_timeout
        self.services = {
            name: ServiceProcess(name, root / name, nats_url, **env.get(name, {})) for name in names
        }

    @property
    def urls(self) -> dict[str, str]:
        """Base URL of each service."""
        return {name: process.url for name, process in self.services.items()}

    @property
    def reporting(self) -> ServiceProcess:
        """The reporting service."""
        return self.services["reporting"]

    def start(self, *names: str, wait_ready: bool = True, timeout: float | None = None) -> Platform:
        """Start these services (all by default) side by side; wait until they answer."""
        chosen = names or tuple(self.services)
        with ThreadPoolExecutor(len(chosen)) as pool:
            for started in [
                pool.submit(
                    self.services[n].start,
                    wait_ready=wait_ready,
                    timeout=timeout or self.start_timeout,
                )
                for n in chosen
            ]:
                started.result()
        return self

    def crash(self, name: str, *, wait_ready: bool = True) -> None:
        """kill -9 one service, then start it again on the same port and data dir."""
        process = self.services[name]
        process.kill()
        process.start(wait_ready=wait_ready, timeout=self.start_timeout)

    def revive(self, name: str, *, wait_ready: bool = True) -> None:
        """Start a service that died at its crash point again, without the crash point."""
        process = self.services[name]
        assert process.process is not None
        assert process.process.wait(30) == CRASH_EXIT_STATUS, process.log_path.read_text()[-2000:]
        process.env.pop("COOP_FAULT_CRASH", None)
        process.start(wait_ready=wait_ready, timeout=self.start_timeout)

    def stop(self) -> None:
        """SIGTERM every service."""
        for process in self.services.values():
            process.stop()


class Reviver:
    """Starts again, without its crash point, each service that died at its crash point."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.revived: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="reviver", daemon=True)

    def __enter__(self) -> Reviver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            for name, process in self.platform.services.items():
                armed = "COOP_FAULT_CRASH" in process.env
                if armed and process.process is not None and process.process.poll() is not None:
                    try:
                        self.platform.revive(name)
                        self.revived.append(name)
                    except Exception as error:
                        self.errors.append(f"{name}: {error}")
                        process.env.pop("COOP_FAULT_CRASH", None)


@dataclass
class StreamMessage:
    """One message read back from a stream."""

    seq: int
    subject: str
    headers: dict[str, str]
    body: dict[str, Any] | None


async def _read_streams(nats_url: str) -> dict[str, list[StreamMessage]]:
    nc = await nats.connect(nats_url, connect_timeout=2, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=5)
        streams: dict[str, list[StreamMessage]] = {}
        for stream in STREAMS:
            try:
                info = await js.stream_info(stream)
            except NotFoundError:
                streams[stream] = []
                continue
            messages = []
            for seq in range(
                info.state.first_seq, info.state.last_seq + 1 if info.state.messages else 0
            ):
                raw = await js.get_msg(stream, seq=seq)
                try:
                    body = json.loads(raw.data or b"")
                except ValueError:
                    body = None
                messages.append(StreamMessage(seq, raw.subject or "", raw.headers or {}, body))
            streams[stream] = messages
        return streams
    finally:
        await nc.close()


def read_streams(nats_url: str) -> dict[str, list[StreamMessage]]:
    """Every message of the services' streams, in stream order."""
    return asyncio.run(_read_streams(nats_url))


NOTIFICATION_HEADER = "Coop-Notification-Id"


def relayed(messages: list[StreamMessage]) -> list[StreamMessage]:
    """The messages the services' relays published, in stream order."""
    return [m for m in messages if NOTIFICATION_HEADER in m.headers]


def _relayed(messages: list[StreamMessage]) -> list[dict[str, Any]]:
    return [m.body for m in relayed(messages) if isinstance(m.body, dict)]


def assert_in_commit_order(stream: str, messages: list[StreamMessage]) -> None:
    """The relay's messages follow the order of the service's notification log."""
    positions = [int(m.headers[NOTIFICATION_HEADER]) for m in relayed(messages)]
    late = [(a, b) for a, b in itertools.pairwise(positions) if b <= a]
    assert not late, f"{stream}: notification(s) published out of commit order: {late[:5]}"


def all_published(nats_url: str, ledger: Ledger) -> bool:
    """True when every event the ledger implies is on its stream."""
    try:
        streams = read_streams(nats_url)
    except Exception:
        return False
    seen: dict[str, set[str]] = {}
    for messages in streams.values():
        for body in _relayed(messages):
            seen.setdefault(body["event_type"], set()).add(body["event_id"])
    return all(len(seen.get(kind, ())) >= count for kind, count in ledger.events.items())


def projection_status(reporting_url: str) -> dict[str, Any]:
    """`GET /v1/projections/status`."""
    status: dict[str, Any] = httpx.get(f"{reporting_url}/v1/projections/status", timeout=10).json()
    return status


def _caught_up(reporting_url: str, nats_url: str) -> bool:
    try:
        status = projection_status(reporting_url)["streams"]
        streams = read_streams(nats_url)
    except Exception:
        return False
    return all(
        status[name]["lag"] == 0
        and status[name]["stream_last_sequence"] == (messages[-1].seq if messages else 0)
        for name, messages in streams.items()
    )


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    """Poll `predicate` every 0.2 s; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(0.2)


def settle(platform: Platform, nats_url: str, ledger: Ledger, timeout: float = 60) -> None:
    """Wait until every accepted event is on its stream and the reporting lag is zero."""
    wait_until(lambda: all_published(nats_url, ledger), timeout, "every accepted event published")
    wait_until(lambda: _caught_up(platform.reporting.url, nats_url), timeout, "reporting lag 0")


def indicators(reporting_url: str, as_of: date) -> dict[str, Any]:
    """`GET /v1/indicators/2023-2024?as_of=…` → the indicators object."""
    response = httpx.get(
        f"{reporting_url}/v1/indicators/{FISCAL_YEAR}",
        params={"as_of": as_of.isoformat()},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    figures: dict[str, Any] = response.json()["indicators"]
    return figures


def assert_figures_match(platform: Platform, ledger: Ledger) -> None:
    """The reporting figures equal the direct computation, at the year's end and mid-year."""
    for cutoff in CUTOFFS:
        expected = expected_indicators(ledger, cutoff)
        served = indicators(platform.reporting.url, cutoff)
        differences = {
            name: {"served": served.get(name), "expected": value}
            for name, value in expected.items()
            if served.get(name) != value
        }
        assert not differences, f"figures as of {cutoff} differ: {differences}"


def assert_streams_exact(nats_url: str, ledger: Ledger) -> None:
    """Each accepted event is on its stream once, and each aggregate's events in commit order."""
    streams = read_streams(nats_url)
    counts: Counter[str] = Counter()
    for stream, messages in streams.items():
        assert_in_commit_order(stream, messages)
        bodies = _relayed(messages)
        repeated = [i for i, n in Counter(b["event_id"] for b in bodies).items() if n > 1]
        assert not repeated, f"{stream}: {len(repeated)} event(s) published more than once"
        last_version: dict[str, int] = {}
        for body in bodies:
            if body["event_type"] == "SectorDefined":
                continue  # the sector list, recorded when the membership store is new
            aggregate, version = body["aggregate_id"], body["aggregate_version"]
            assert version > last_version.get(aggregate, 0), (
                f"{stream}: {body['event_type']} v{version} of {aggregate} after "
                f"v{last_version[aggregate]}: not in commit order"
            )
            last_version[aggregate] = version
            assert STREAM_OF_EVENT[body["event_type"]] == stream
            counts[body["event_type"]] += 1
    assert counts == ledger.events, f"on the streams {dict(counts)}, accepted {dict(ledger.events)}"


def parked(platform: Platform) -> dict[str, int]:
    """The parked count of each stream, as `/v1/projections/status` tells it."""
    streams = projection_status(platform.reporting.url)["streams"]
    return {name: int(s["parked"]) for name, s in streams.items() if name in STREAMS}


def assert_nothing_lost_or_doubled(platform: Platform, nats_url: str, ledger: Ledger) -> None:
    """The end of every fault test: published once, in order, and counted once."""
    settle(platform, nats_url, ledger)
    assert_streams_exact(nats_url, ledger)
    assert_figures_match(platform, ledger)
    assert parked(platform) == dict.fromkeys(STREAMS, 0)


async def _stream_length(nats_url: str, stream: str) -> int:
    nc = await nats.connect(nats_url, connect_timeout=1, allow_reconnect=False)
    try:
        return int((await nc.jetstream(timeout=1).stream_info(stream)).state.messages)
    finally:
        await nc.close()


def stream_length(nats_url: str, stream: str) -> int:
    """How many messages a stream holds (0 while NATS or the stream is not there)."""
    try:
        return asyncio.run(_stream_length(nats_url, stream))
    except Exception:
        return 0
