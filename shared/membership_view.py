"""Which cooperatives are members, and when: a view other services keep from `COOP_MEMBERSHIP`.

The events and ambassadors services never call the membership service; they keep this view
through the consumer base, so it moves exactly once per membership event.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa

from shared.contracts.membership import MEMBERSHIP, CoopJoined, CoopLeft, CoopRejoined
from shared.integration import Envelope
from shared.persistence import Database

metadata = sa.MetaData()

member_periods = sa.Table(
    "member_periods",
    metadata,
    sa.Column("cooperative_id", sa.String(36), primary_key=True),
    sa.Column("periods", sa.Text, nullable=False),
)

Period = tuple[date, date | None]


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
        if isinstance(payload, CoopJoined):
            self._write(conn, payload.cooperative_id, [[payload.joined_on, None]])
        elif isinstance(payload, CoopLeft):
            periods = self._read(conn, payload.cooperative_id)
            if periods and periods[-1][1] is None:
                periods[-1][1] = payload.left_on
                self._write(conn, payload.cooperative_id, periods)
        elif isinstance(payload, CoopRejoined):
            periods = self._read(conn, payload.cooperative_id)
            if periods and periods[-1][1] is not None:
                periods.append([payload.rejoined_on, None])
                self._write(conn, payload.cooperative_id, periods)

    def _read(self, conn: sa.Connection, cooperative_id: str) -> list[list[str | None]]:
        row = conn.execute(
            sa.select(member_periods.c.periods).where(
                member_periods.c.cooperative_id == cooperative_id
            )
        ).first()
        return _load(row.periods) if row else []

    def _write(self, conn: sa.Connection, cooperative_id: str, periods: list[Any]) -> None:
        document = json.dumps(periods)
        key = member_periods.c.cooperative_id == cooperative_id
        if conn.execute(sa.update(member_periods).where(key).values(periods=document)).rowcount:
            return
        conn.execute(
            sa.insert(member_periods).values(cooperative_id=cooperative_id, periods=document)
        )

    def periods(self, cooperative_id: str) -> list[Period]:
        """The cooperative's membership periods, oldest first (empty when unknown)."""
        with self.database.reading() as conn:
            raw = self._read(conn, cooperative_id)
        return [
            (date.fromisoformat(str(start)), date.fromisoformat(end) if end else None)
            for start, end in raw
        ]

    def is_member_on(self, cooperative_id: str, day: date) -> bool:
        """True when a period [start, end) of the cooperative contains `day`."""
        return any(
            start <= day and (end is None or day < end)
            for start, end in self.periods(cooperative_id)
        )
