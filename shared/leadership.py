"""One active instance per relay and per consumer, so scaling a service out never reorders.

On PostgreSQL the leader holds a session-level advisory lock, which the server frees when the
session dies (crash, network loss); the others wait and retry. The embedded SQLite default runs
one instance per data dir, so it is always the leader.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Protocol

import sqlalchemy as sa

from shared.persistence import Database


class Leadership(Protocol):
    """Who may run a follower (a relay or a consumer) right now."""

    async def acquire(self) -> None:
        """Wait until this instance leads."""

    async def held(self) -> bool:
        """True while this instance still leads."""

    async def release(self) -> None:
        """Stop leading."""


class SoleInstance:
    """The embedded default: the only instance always leads."""

    async def acquire(self) -> None:
        """Lead at once."""

    async def held(self) -> bool:
        """Always."""
        return True

    async def release(self) -> None:
        """Nothing to release."""


class AdvisoryLock:
    """A PostgreSQL session advisory lock named after the follower."""

    def __init__(
        self, database: Database, name: str, *, retry: float = 2.0, check_every: float = 2.0
    ) -> None:
        self.engine = database.engine
        self.name = name
        self.key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        self.retry = retry
        self.check_every = check_every
        self._conn: sa.Connection | None = None
        self._checked = 0.0

    def _try(self) -> bool:
        if self._conn is None:
            self._conn = self.engine.connect()
        got = self._conn.execute(
            sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
        ).scalar_one()
        self._conn.commit()
        return bool(got)

    async def acquire(self) -> None:
        """Wait for the lock, retrying every `retry` seconds."""
        while True:
            try:
                if await asyncio.to_thread(self._try):
                    self._checked = time.monotonic()
                    return
            except sa.exc.DBAPIError:
                await self.release()
            await asyncio.sleep(self.retry)

    async def held(self) -> bool:
        """True while the session that holds the lock is alive."""
        conn = self._conn
        if conn is None:
            return False
        if time.monotonic() - self._checked < self.check_every:
            return True
        try:
            await asyncio.to_thread(conn.execute, sa.text("SELECT 1"))
            await asyncio.to_thread(conn.commit)
        except sa.exc.DBAPIError:
            await self.release()
            return False
        self._checked = time.monotonic()
        return True

    async def release(self) -> None:
        """Drop the session (and with it the lock); a pooled close would keep both."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.to_thread(conn.invalidate)
            await asyncio.to_thread(conn.close)


def leadership(database: Database, name: str) -> Leadership:
    """The leadership a follower named `name` needs on this database."""
    if database.is_sqlite:
        return SoleInstance()
    return AdvisoryLock(database, name)
