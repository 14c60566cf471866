"""A synthetic history of integration events (CONTRACT §7) with a realistic mix, for replays.

Deterministic (seeded), consistent (attendance names scheduled activities and member
cooperatives, actions name enrolled ambassadors, aggregate versions count up per aggregate),
and spread over ten fiscal years (2015-2016 … 2024-2025) so that one year holds about a tenth
of it. The mix leans on attendance and ambassador actions, as the network's history does:

    membership 8 %   CoopJoined 5, CoopProfileUpdated 1.5, CoopLeft 1, CoopRejoined 0.5
    events     72 %  ActivityScheduled 8, ActivityAttended 50, PublicAttendanceRecorded 13.6,
                     ActivityCancelled 0.4
    ambassadors 20 % AmbassadorEnrolled 2, AmbassadorActionLogged 17, AmbassadorRetired 0.5,
                     AmbassadorDeactivated 0.5
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.batch_publish import MAX_MESSAGES, BatchPublisher
from shared.contracts.ambassadors import AMBASSADORS
from shared.contracts.events import EVENTS
from shared.contracts.membership import MEMBERSHIP
from shared.integration import StreamContract, event_id_for
from shared.messaging import Messaging

MIX: dict[str, float] = {
    "CoopJoined": 5,
    "CoopProfileUpdated": 1.5,
    "CoopLeft": 1,
    "CoopRejoined": 0.5,
    "ActivityScheduled": 8,
    "ActivityAttended": 50,
    "PublicAttendanceRecorded": 13.6,
    "ActivityCancelled": 0.4,
    "AmbassadorEnrolled": 2,
    "AmbassadorActionLogged": 17,
    "AmbassadorRetired": 0.5,
    "AmbassadorDeactivated": 0.5,
}
STREAM_OF: dict[str, StreamContract] = {
    **{
        name: MEMBERSHIP
        for name in ("CoopJoined", "CoopProfileUpdated", "CoopLeft", "CoopRejoined")
    },
    **{
        name: EVENTS
        for name in (
            "ActivityScheduled",
            "ActivityAttended",
            "PublicAttendanceRecorded",
            "ActivityCancelled",
        )
    },
    **{
        name: AMBASSADORS
        for name in (
            "AmbassadorEnrolled",
            "AmbassadorActionLogged",
            "AmbassadorRetired",
            "AmbassadorDeactivated",
        )
    },
}
STREAMS = (MEMBERSHIP, EVENTS, AMBASSADORS)
ACTIVITY_TYPES = (
    "formation", "courtepointe", "service_conseil", "conference", "reseautage",
    "cine_discussion", "parcours_coop", "autre",
)  # fmt: skip
ACTION_KINDS = ("cine_discussion", "presentation", "kiosque", "mentorat", "autre")
SECTORS = (
    "microbrasserie", "boulangerie", "informatique", "communications", "architecture",
    "services-conseils", "alimentation", "imprimerie", "arts-scene", "construction",
)  # fmt: skip
PARTNERS = (
    "Pôle d'économie sociale du Bas-Saint-Laurent",
    "Pôle d'économie sociale de l'Estrie",
    "Conseil québécois de la coopération et de la mutualité",
    "Cinéma Paraloeil",
)
FIRST_DAY = date(2015, 9, 1)
# The envelopes' occurred_at: one millisecond apart from this instant, in publication order.
RECORDED_FROM = datetime(2025, 9, 1, tzinfo=UTC)
LAST_DAY = date(2025, 8, 31)


class History:
    """Generates the envelopes of a history of `size` events, in publication order."""

    def __init__(self, size: int, seed: int = 20232024) -> None:
        self.size = size
        self.rng = random.Random(seed)
        self.versions: dict[str, int] = {}
        self.active: list[str] = []  # cooperatives that are members
        self.gone: list[str] = []  # cooperatives that left
        self.activities: list[tuple[str, str, str]] = []  # id, type, date
        self.ambassadors: list[tuple[str, str]] = []  # id, enrolled_on
        self.counts: dict[str, int] = dict.fromkeys(MIX, 0)
        self.ids = (
            str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in itertools.count()
        )

    def _id(self) -> str:
        return next(self.ids)

    def _day(self, index: int) -> date:
        span = (LAST_DAY - FIRST_DAY).days
        offset = int(span * index / max(1, self.size)) + self.rng.randint(-20, 20)
        return FIRST_DAY + timedelta(days=min(span, max(0, offset)))

    def __iter__(self) -> Iterator[tuple[str, bytes, str]]:
        """(subject, body, Nats-Msg-Id) of each event, in order."""
        names = list(MIX)
        cumulative = list(itertools.accumulate(MIX.values()))
        started = RECORDED_FROM
        for index in range(self.size):
            wanted = self.rng.choices(names, cum_weights=cumulative)[0]
            event_type, aggregate_id, data = self._event(wanted, index)
            self.counts[event_type] += 1
            version = self.versions.get(aggregate_id, 0) + 1
            self.versions[aggregate_id] = version
            event_id = event_id_for(aggregate_id, version)
            occurred = started + timedelta(milliseconds=index)
            envelope = {
                "event_id": event_id,
                "event_type": event_type,
                "schema_version": 1,
                "aggregate_id": aggregate_id,
                "aggregate_version": version,
                "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "correlation_id": event_id,
                "causation_id": None,
                "data": data,
            }
            body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
            yield STREAM_OF[event_type].subject(event_type), body, event_id

    def _event(self, wanted: str, index: int) -> tuple[str, str, dict[str, Any]]:
        rng = self.rng
        day = self._day(index)
        if wanted == "CoopJoined" or (wanted.startswith("Coop") and not self.active):
            cooperative = self._id()
            self.active.append(cooperative)
            return (
                "CoopJoined",
                cooperative,
                {
                    "cooperative_id": cooperative,
                    "name": f"Coopérative de travail {len(self.active)}",
                    "region": f"{rng.randint(1, 17):02d}",
                    "sector": rng.choice(SECTORS),
                    "worker_members": rng.randint(3, 40),
                    "joined_on": day.isoformat(),
                    "neq": f"11{rng.randrange(10**8):08d}",
                },
            )
        if wanted == "CoopProfileUpdated":
            cooperative = rng.choice(self.active)
            return (
                wanted,
                cooperative,
                {
                    "cooperative_id": cooperative,
                    "changes": {"worker_members": rng.randint(3, 40)},
                },
            )
        if wanted == "CoopLeft":
            cooperative = self.active.pop(rng.randrange(len(self.active)))
            self.gone.append(cooperative)
            return (
                wanted,
                cooperative,
                {
                    "cooperative_id": cooperative,
                    "left_on": day.isoformat(),
                    "reason": "fermeture",
                },
            )
        if wanted == "CoopRejoined":
            if not self.gone:
                return self._event("CoopJoined", index)
            cooperative = self.gone.pop(rng.randrange(len(self.gone)))
            self.active.append(cooperative)
            return (
                wanted,
                cooperative,
                {
                    "cooperative_id": cooperative,
                    "rejoined_on": (day + timedelta(days=30)).isoformat(),
                },
            )
        if wanted == "ActivityScheduled" or (wanted.startswith(("Activity", "Public"))
                                             and not self.activities):  # fmt: skip
            activity = self._id()
            kind = rng.choice(ACTIVITY_TYPES)
            self.activities.append((activity, kind, day.isoformat()))
            partners = rng.sample(PARTNERS, rng.randint(1, 2)) if kind == "cine_discussion" else []
            return (
                "ActivityScheduled",
                activity,
                {
                    "activity_id": activity,
                    "type": kind,
                    "title": f"{kind} {day.isoformat()}",
                    "date": day.isoformat(),
                    "format": "in_person",
                    "region": f"{rng.randint(1, 17):02d}",
                    "partners": partners,
                },
            )
        recent = self.activities[-200:]
        if wanted == "ActivityAttended":
            if not self.active:
                return self._event("CoopJoined", index)
            activity, kind, when = rng.choice(recent)
            return (
                wanted,
                activity,
                {
                    "activity_id": activity,
                    "cooperative_id": rng.choice(self.active),
                    "participants": rng.randint(1, 6),
                    "activity_type": kind,
                    "activity_date": when,
                },
            )
        if wanted == "PublicAttendanceRecorded":
            activity, _, _ = rng.choice(recent)
            return (
                wanted,
                activity,
                {
                    "activity_id": activity,
                    "count": rng.randint(5, 90),
                    "region": f"{rng.randint(1, 17):02d}" if rng.random() < 0.7 else None,
                },
            )
        if wanted == "ActivityCancelled":
            activity, _, _ = rng.choice(recent)
            return wanted, activity, {"activity_id": activity, "reason": "tempête"}
        if wanted == "AmbassadorEnrolled" or not self.ambassadors:
            if not self.active:
                return self._event("CoopJoined", index)
            ambassador = self._id()
            self.ambassadors.append((ambassador, day.isoformat()))
            return (
                "AmbassadorEnrolled",
                ambassador,
                {
                    "ambassador_id": ambassador,
                    "cooperative_id": rng.choice(self.active),
                    "enrolled_on": day.isoformat(),
                },
            )
        ambassador, enrolled_on = rng.choice(self.ambassadors[-300:])
        if wanted == "AmbassadorActionLogged":
            return (
                wanted,
                ambassador,
                {
                    "ambassador_id": ambassador,
                    "kind": rng.choice(ACTION_KINDS),
                    "performed_on": max(day.isoformat(), enrolled_on),
                    "activity_id": None,
                    "people_reached": rng.randint(0, 60),
                },
            )
        if wanted == "AmbassadorRetired":
            return (
                wanted,
                ambassador,
                {
                    "ambassador_id": ambassador,
                    "retired_on": max(day.isoformat(), enrolled_on),
                },
            )
        return (
            "AmbassadorDeactivated",
            ambassador,
            {
                "ambassador_id": ambassador,
                "effective_on": max(day.isoformat(), enrolled_on),
                "reason": "cooperative-left",
            },
        )


async def publish_history(url: str, size: int) -> tuple[dict[str, int], float]:
    """Publish a history of `size` events on the three streams; return counts per stream, rate.

    Each stream's events go in atomic batches of 1,000, as the relays publish them.
    """
    messaging = Messaging(url, name="bench-history")
    await messaging.connect()
    try:
        for contract in STREAMS:
            await messaging.ensure_stream(contract)
        js = await messaging.jetstream()
        batches = BatchPublisher(await messaging.client())
        pending: dict[str, list[tuple[str, bytes, dict[str, str]]]] = {}
        in_flight: list[asyncio.Future[int]] = []

        async def send(stream: str) -> None:
            in_flight.append(await batches.send(pending.pop(stream), None))
            while len(in_flight) > 4:
                await asyncio.wait_for(in_flight.pop(0), 60)

        history = History(size)
        started = time.perf_counter()
        for subject, body, event_id in history:
            stream = subject.split(".")[1]
            pending.setdefault(stream, []).append((subject, body, {"Nats-Msg-Id": event_id}))
            if len(pending[stream]) == MAX_MESSAGES:
                await send(stream)
        for stream in list(pending):
            await send(stream)
        for acked in in_flight:
            await asyncio.wait_for(acked, 60)
        rate = size / (time.perf_counter() - started)
        await batches.close()
        per_stream = {}
        for contract in STREAMS:
            info = await js.stream_info(contract.stream)
            per_stream[contract.stream] = info.state.messages
    finally:
        await messaging.close()
    return per_stream, rate
