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
from datetime import date
from typing import Any

import sqlalchemy as sa

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
        """Move the view by one membership event."""
        payload: Any = MEMBERSHIP.payload(envelope)
        if not isinstance(payload, MembershipEvent):
            return
        cooperative_id = payload.cooperative_id
        version = envelope.aggregate_version
        periods, applied = self._read_versioned(conn, cooperative_id)
        if version <= applied:
            return  # this event (or a later one) is already in the view
        if isinstance(payload, CoopJoined):
            periods = [[payload.joined_on, None]]
        elif isinstance(payload, CoopLeft):
            if not periods or periods[-1][1] is not None:
                return
            periods[-1][1] = payload.left_on
        elif isinstance(payload, CoopRejoined):
            if not periods or periods[-1][1] is None:
                return
            periods.append([payload.rejoined_on, None])
        elif isinstance(payload, CoopMembershipCorrected):
            periods = [
                [_checked(p.start), _checked(p.end) if p.end else None] for p in payload.periods
            ]
        else:
            self._mark_voided(conn, cooperative_id, isinstance(payload, CoopVoided))
        self._write(conn, cooperative_id, periods, version)

    def _mark_voided(self, conn: sa.Connection, cooperative_id: str, voided: bool) -> None:
        key = member_voided.c.cooperative_id == cooperative_id
        conn.execute(sa.delete(member_voided).where(key))
        if voided:
            conn.execute(sa.insert(member_voided).values(cooperative_id=cooperative_id))

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

    def _write(
        self, conn: sa.Connection, cooperative_id: str, periods: list[Any], version: int
    ) -> None:
        document = json.dumps(periods)
        key = member_periods.c.cooperative_id == cooperative_id
        values = {"periods": document, "version": version}
        if conn.execute(sa.update(member_periods).where(key).values(**values)).rowcount:
            return
        conn.execute(sa.insert(member_periods).values(cooperative_id=cooperative_id, **values))

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
    """A period's date as given, once read as a real date (a bad one fails: the message parks)."""
    date.fromisoformat(day)
    return day
