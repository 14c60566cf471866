"""A stored history of schema-version-1 integration events, every one of the 12 types.

Each payload is built with the v1 model the publishing service uses (shared/contracts) and
wrapped in the §7 envelope the outbox relay writes, as it sits on the streams today.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from shared.contracts.ambassadors import (
    AMBASSADORS,
    AmbassadorActionLoggedV1,
    AmbassadorDeactivated,
    AmbassadorEnrolled,
    AmbassadorRetired,
)
from shared.contracts.events import (
    EVENTS,
    ActivityAttended,
    ActivityCancelled,
    ActivityScheduled,
    PublicAttendanceRecordedV1,
)
from shared.contracts.membership import (
    MEMBERSHIP,
    CoopJoined,
    CoopLeft,
    CoopProfileUpdated,
    CoopRejoined,
)
from shared.integration import Envelope, StreamContract, event_id_for

CONTRACTS: tuple[StreamContract, ...] = (MEMBERSHIP, EVENTS, AMBASSADORS)
EVENT_TYPES = frozenset(
    {
        *("CoopJoined", "CoopProfileUpdated", "CoopLeft", "CoopRejoined"),
        *("ActivityScheduled", "ActivityCancelled", "ActivityAttended"),
        *("PublicAttendanceRecorded", "AmbassadorEnrolled", "AmbassadorActionLogged"),
        *("AmbassadorRetired", "AmbassadorDeactivated"),
    }
)
"""The event types of the contract's version 1: the stored history holds each of them."""


class StoredHistory:
    """v1 envelopes per stream, in publication order."""

    def __init__(self, ids: Callable[[], str]) -> None:
        self.ids = ids
        self.streams: dict[str, list[Envelope]] = {c.stream: [] for c in CONTRACTS}
        self._versions: dict[str, int] = {}
        self._clock = 0

    def publish(self, contract: StreamContract, aggregate_id: str, payload: BaseModel) -> None:
        """Record `payload` as the relay would: envelope, stable event id, schema version 1."""
        event_type = type(payload).__name__.removesuffix("V1")  # a version-1 model kept as such
        assert contract.models[event_type] is type(payload) or event_type != type(payload).__name__
        assert contract.versions[event_type] == 1 or event_type != type(payload).__name__
        version = self._versions.get(aggregate_id, 0) + 1
        self._versions[aggregate_id] = version
        self._clock += 1
        envelope = Envelope(
            event_id=event_id_for(aggregate_id, version),
            event_type=event_type,
            schema_version=1,
            aggregate_id=aggregate_id,
            aggregate_version=version,
            occurred_at=f"2024-08-01T10:{self._clock // 60:02d}:{self._clock % 60:02d}.000000Z",
            correlation_id=self.ids(),
            causation_id=None,
            data=payload.model_dump(mode="json"),
        )
        # As stored on the stream: JSON bytes, read back by the consumers.
        self.streams[contract.stream].append(
            Envelope.model_validate_json(envelope.model_dump_json())
        )

    @property
    def event_types(self) -> set[str]:
        """The types this history holds."""
        return {e.event_type for envelopes in self.streams.values() for e in envelopes}


def stored_history(seed: int = 2024) -> StoredHistory:
    """Two and a half fiscal years of a small network, touching every event type.

    The ids come from `seed`: the same seed gives the same history.
    """
    draw = random.Random(seed)

    def ids() -> str:
        return str(uuid.UUID(int=draw.getrandbits(128), version=4))

    history = StoredHistory(ids)
    coop_a, coop_b, coop_c, coop_d = ids(), ids(), ids(), ids()
    m = MEMBERSHIP

    def join(coop: str, joined_on: str, region: str, sector: str, workers: int, neq: Any) -> None:
        history.publish(
            m,
            coop,
            CoopJoined(
                cooperative_id=coop,
                name=f"Coop {coop[:4]}",
                region=region,
                sector=sector,
                worker_members=workers,
                joined_on=joined_on,
                neq=neq,
            ),
        )

    join(coop_a, "2022-10-01", "01", "microbrasserie", 12, "1170000001")
    join(coop_b, "2023-01-15", "06", "imprimerie", 5, None)
    join(coop_c, "2023-03-01", "03", "services-conseil", 8, None)
    join(coop_d, "2023-09-15", "06", "arts-scene", 4, "1170000004")
    history.publish(
        m,
        coop_b,
        CoopProfileUpdated(
            cooperative_id=coop_b,
            changes={"region": "05", "worker_members": 9, "sector": "edition"},
        ),
    )
    history.publish(m, coop_c, CoopLeft(cooperative_id=coop_c, left_on="2023-12-01", reason=None))
    history.publish(m, coop_c, CoopRejoined(cooperative_id=coop_c, rejoined_on="2024-02-01"))
    history.publish(
        m, coop_d, CoopLeft(cooperative_id=coop_d, left_on="2024-06-01", reason="dissolution")
    )

    e = EVENTS
    cine, parcours, formation, conference = ids(), ids(), ids(), ids()
    history.publish(
        e,
        cine,
        ActivityScheduled(
            activity_id=cine,
            type="cine_discussion",
            title="(R)évolution à Rimouski",
            date="2023-10-12",
            format="in_person",
            region="01",
            partners=["  Pôle d'économie sociale ", "pôle d'économie sociale", "Cinéma Paraloeil"],
        ),
    )
    history.publish(
        e,
        parcours,
        ActivityScheduled(
            activity_id=parcours,
            type="parcours_coop",
            title="Parcours COOP",
            date="2024-01-20",
            format="remote",
            region=None,
            partners=[],
        ),
    )
    for activity, kind, day in [
        (formation, "formation", "2023-11-05"),
        (conference, "conference", "2024-03-10"),
    ]:
        history.publish(
            e,
            activity,
            ActivityScheduled(
                activity_id=activity,
                type=kind,
                title=kind.title(),
                date=day,
                format="hybrid",
                region="06",
                partners=["CDR"],
            ),
        )
    for activity, coop, participants, kind, day in [
        (cine, coop_a, 3, "cine_discussion", "2023-10-12"),
        (cine, coop_b, 1, "cine_discussion", "2023-10-12"),
        (formation, coop_a, 2, "formation", "2023-11-05"),
        (conference, coop_c, 4, "conference", "2024-03-10"),
        (conference, coop_d, 1, "conference", "2024-03-10"),
    ]:
        history.publish(
            e,
            activity,
            ActivityAttended(
                activity_id=activity,
                cooperative_id=coop,
                participants=participants,
                activity_type=kind,
                activity_date=day,
            ),
        )
    history.publish(e, formation, ActivityCancelled(activity_id=formation, reason=None))
    for activity, count, region in [(cine, 120, "02"), (cine, 30, None), (parcours, 15, "06")]:
        history.publish(
            e,
            activity,
            PublicAttendanceRecordedV1(activity_id=activity, count=count, region=region),
        )

    a = AMBASSADORS
    mona, noe, olivia = ids(), ids(), ids()
    for ambassador, coop, enrolled_on in [
        (mona, coop_a, "2022-11-01"),
        (noe, coop_c, "2023-04-01"),
        (olivia, coop_b, "2023-02-01"),
    ]:
        history.publish(
            a,
            ambassador,
            AmbassadorEnrolled(
                ambassador_id=ambassador, cooperative_id=coop, enrolled_on=enrolled_on
            ),
        )
    actions: list[tuple[str, str, str, str | None, int | None]] = [
        (mona, "cine_discussion", "2023-10-20", cine, 40),
        (mona, "presentation", "2024-02-02", None, None),
        (noe, "kiosque", "2023-11-01", None, 10),
        (olivia, "mentorat", "2023-05-10", None, 2),
    ]
    for ambassador, kind, day, related, reached in actions:
        history.publish(
            a,
            ambassador,
            AmbassadorActionLoggedV1(
                ambassador_id=ambassador,
                kind=kind,
                performed_on=day,
                activity_id=related,
                people_reached=reached,
            ),
        )
    history.publish(
        a,
        noe,
        AmbassadorDeactivated(ambassador_id=noe, effective_on="2023-12-01", reason=None),
    )
    history.publish(a, olivia, AmbassadorRetired(ambassador_id=olivia, retired_on="2024-03-31"))
    assert history.event_types == EVENT_TYPES
    return history
