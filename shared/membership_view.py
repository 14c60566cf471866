"""Which cooperatives are members, and when: a view other services keep from `COOP_MEMBERSHIP`.

The events and ambassadors services never call the membership service; they keep this view
through the consumer base, so it moves exactly once per membership event. Each row also keeps
the last `aggregate_version` it applied, so the same event delivered again (even at another
stream sequence, e.g. republished after the duplicate window) changes nothing.

Corrections (contract §10) move it too: `CoopMembershipCorrected` replaces the periods,
`CoopVoided` makes the cooperative a member on no date (a row in `member_voided`; its periods
are kept), and `CoopRestored` brings its periods back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.contracts.membership import (
    MEMBERSHIP,
    CoopJoined,
    CoopLeft,
    CoopMembershipCorrected,
    CoopRejoined,
    CoopRestored,
    CoopVoided,
)
from shared.integration import Envelope
from shared.persistence import Database

metadata = sa.MetaData()

member_periods = sa.Table(
    "member_periods",
    metadata,
    sa.Column("cooperative_id", sa.String(36), primary_key=True),
    sa.Column("periods", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
)

member_voided = sa.Table(
    "member_voided",
    metadata,
    sa.Column("cooperative_id", sa.String(36), primary_key=True),
)
"""The voided cooperatives: a member on no date while their row is here (their periods stay)."""

Period = tuple[date, date | None]
MembershipEvent = (
    CoopJoined | CoopLeft | CoopRejoined | CoopMembershipCorrected | CoopVoided | CoopRestored
)


def _load(raw: str) -> list[list[str | None]]:
    periods: list[list[str | None]] = json.loads(raw)
    return periods


class MembershipView:
    """Membership periods per cooperative, as the membership service's events tell them."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def prepare(self, envelope: Envelope) -> None:
        """Nothing to do outside the transaction."""

    def apply(self, conn: sa.Connection, envelope: Envelope) -> None:
        """Move the view by one membership event (a message alone: see `begin` for batches)."""
        batch = self.begin(conn, [envelope])
        batch.apply(envelope)
        batch.flush()

    def begin(self, conn: sa.Connection, envelopes: Sequence[Envelope]) -> MembershipBatch:
        """A batch of membership events: their cooperatives read in two statements, moved in
        memory in order, and written back in a few (the consumer's `BatchProjection`)."""
        return MembershipBatch(self.database, conn, {e.aggregate_id for e in envelopes})

    def _read(self, conn: sa.Connection, cooperative_id: str) -> list[list[str | None]]:
        return self._read_versioned(conn, cooperative_id)[0]

    def _read_versioned(
        self, conn: sa.Connection, cooperative_id: str
    ) -> tuple[list[list[str | None]], int]:
        row = conn.execute(
            sa.select(member_periods.c.periods, member_periods.c.version).where(
                member_periods.c.cooperative_id == cooperative_id
            )
        ).first()
        return (_load(row.periods), int(row.version)) if row else ([], 0)

    def periods(self, cooperative_id: str) -> list[Period]:
        """The cooperative's membership periods, oldest first (empty when unknown or voided)."""
        with self.database.reading() as conn:
            if self._is_voided(conn, cooperative_id):
                return []
            raw = self._read(conn, cooperative_id)
        return _periods(raw)

    def standing(self, cooperative_id: str) -> tuple[list[Period], bool, int]:
        """The cooperative's periods (kept while voided), whether it is voided, and the
        `aggregate_version` of the last membership event the view applied (0: unknown)."""
        with self.database.reading() as conn:
            voided = self._is_voided(conn, cooperative_id)
            raw, version = self._read_versioned(conn, cooperative_id)
        return _periods(raw), voided, version

    def is_member_on(self, cooperative_id: str, day: date) -> bool:
        """True when a period [start, end) of the cooperative contains `day`."""
        return any(
            start <= day and (end is None or day < end)
            for start, end in self.periods(cooperative_id)
        )

    def is_voided(self, cooperative_id: str) -> bool:
        """True while the cooperative is voided: it is then a member on no date."""
        with self.database.reading() as conn:
            return self._is_voided(conn, cooperative_id)

    def _is_voided(self, conn: sa.Connection, cooperative_id: str) -> bool:
        row = conn.execute(
            sa.select(member_voided.c.cooperative_id).where(
                member_voided.c.cooperative_id == cooperative_id
            )
        ).first()
        return row is not None


def _periods(raw: list[list[str | None]]) -> list[Period]:
    return [
        (date.fromisoformat(str(start)), date.fromisoformat(end) if end else None)
        for start, end in raw
    ]


def _checked(day: str) -> str:
    """A date as given, once read as a real date (a bad one fails: the message parks, rather
    than entering the view and breaking every later membership check of its cooperative)."""
    date.fromisoformat(day)
    return day


def moved(periods: list[list[str | None]], payload: Any) -> list[list[str | None]] | None:
    """A cooperative's periods after one membership event (None: the event changes none)."""
    if isinstance(payload, CoopJoined):
        return [[_checked(payload.joined_on), None]]
    if isinstance(payload, CoopLeft):
        left_on = _checked(payload.left_on)
        if not periods or periods[-1][1] is not None:
            return None
        return [*periods[:-1], [periods[-1][0], left_on]]
    if isinstance(payload, CoopRejoined):
        rejoined_on = _checked(payload.rejoined_on)
        if not periods or periods[-1][1] is None:
            return None
        return [*periods, [rejoined_on, None]]
    if isinstance(payload, CoopMembershipCorrected):
        return [[_checked(p.start), _checked(p.end) if p.end else None] for p in payload.periods]
    return None


class MembershipBatch:
    """Membership events applied together inside the consumer's transaction."""

    def __init__(self, database: Database, conn: sa.Connection, cooperatives: set[str]) -> None:
        self.database = database
        self.conn = conn
        self.rows: dict[str, tuple[list[list[str | None]], int]] = {}
        self.voided: set[str] = set()
        if cooperatives:
            keys = sorted(cooperatives)
            for row in conn.execute(
                sa.select(member_periods).where(member_periods.c.cooperative_id.in_(keys))
            ):
                self.rows[row.cooperative_id] = (_load(row.periods), int(row.version))
            self.voided = set(
                conn.execute(
                    sa.select(member_voided.c.cooperative_id).where(
                        member_voided.c.cooperative_id.in_(keys)
                    )
                ).scalars()
            )
        self.changed: set[str] = set()
        self.voids_changed: set[str] = set()

    def apply(self, envelope: Envelope) -> None:
        """Move one cooperative by one event, in memory; a version already applied is skipped."""
        payload: Any = MEMBERSHIP.payload(envelope)
        if not isinstance(payload, MembershipEvent):
            return
        cooperative_id = payload.cooperative_id
        periods, applied = self.rows.get(cooperative_id, ([], 0))
        version = envelope.aggregate_version
        if version <= applied:
            return  # this event (or a later one) is already in the view
        if isinstance(payload, CoopVoided | CoopRestored):
            if isinstance(payload, CoopVoided):
                self.voided.add(cooperative_id)
            else:
                self.voided.discard(cooperative_id)
            self.voids_changed.add(cooperative_id)
        else:
            periods = moved(periods, payload) or periods
        self.rows[cooperative_id] = (periods, version)
        self.changed.add(cooperative_id)

    def flush(self) -> None:
        """Write the cooperatives the batch moved: one upsert, and the voids that changed."""
        if self.changed:
            rows = [
                {
                    "cooperative_id": cooperative_id,
                    "periods": json.dumps(self.rows[cooperative_id][0]),
                    "version": self.rows[cooperative_id][1],
                }
                for cooperative_id in sorted(self.changed)
            ]
            dialect = sqlite_insert if self.database.is_sqlite else postgresql_insert
            statement = dialect(member_periods)
            self.conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["cooperative_id"],
                    set_={
                        "periods": statement.excluded.periods,
                        "version": statement.excluded.version,
                    },
                ),
                rows,
            )
        if self.voids_changed:
            keys = sorted(self.voids_changed)
            self.conn.execute(
                sa.delete(member_voided).where(member_voided.c.cooperative_id.in_(keys))
            )
            voided = [{"cooperative_id": key} for key in keys if key in self.voided]
            if voided:
                self.conn.execute(sa.insert(member_voided), voided)
