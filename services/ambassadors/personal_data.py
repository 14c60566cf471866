"""Ambassadors' personal information (Québec Law 25): one erasable table, keyed by ambassador id.

Consistency with the event store. The row is written by the event store's own recorder, in
the very transaction that stores the `Enrolled` event (the details ride in the command's
`EnrollmentContext`, which is never stored or published). So there is never an ambassador
event without its row, nor an orphan row after a crash; and a missing row can only mean the
details were erased, which is what `erased` reports.

Erasure deletes the row. On SQLite the engine runs with `PRAGMA secure_delete=ON`, so the
freed cells are overwritten with zeros, and a `PRAGMA wal_checkpoint(TRUNCATE)` after the
delete moves the zeroed page into the database file and empties the write-ahead log, where
older copies of the page would otherwise linger. On PostgreSQL the DELETE makes the row
invisible at once; its bytes stay in the heap page until VACUUM reclaims the dead tuple
(autovacuum does, or run `VACUUM ambassador_personal_data` for a prompt physical purge), and
backups taken before the erasure must be handled by the operator's retention policy.

Nothing here logs, and the idempotency records of the enrollment keep only hashes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteCursor

from services.ambassadors.application import EnrollmentContext, PersonalDetails
from shared.persistence import Database, PostgresCoopRecorder, SQLiteCoopRecorder

log = logging.getLogger(__name__)

TABLE = "ambassador_personal_data"

metadata = sa.MetaData()

personal_data = sa.Table(
    TABLE,
    metadata,
    sa.Column("ambassador_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
)

_INSERT = "INSERT INTO {table} (ambassador_id, name, email) VALUES ({p},{p},{p})"


def _row(context: Any) -> tuple[str, str, str | None] | None:
    if not isinstance(context, EnrollmentContext) or context.personal is None:
        return None
    details = context.personal
    return (context.ambassador_id, details.name or "", details.email)


class SQLitePersonalDataRecorder(SQLiteCoopRecorder):
    """The SQLite recorder that also writes a new ambassador's details with the enrollment."""

    keeps_personal_details = True

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        row = _row(kwargs.get("context"))
        if row is not None:
            c.execute(_INSERT.format(table=TABLE, p="?"), row)
        return ids


class PostgresPersonalDataRecorder(PostgresCoopRecorder):
    """The PostgreSQL recorder that also writes a new ambassador's details with the enrollment."""

    keeps_personal_details = True

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        row = _row(kwargs.get("context"))
        if row is not None:
            table = f'"{self.datastore.schema}".{TABLE}'
            curs.execute(_INSERT.format(table=table, p="%s"), row)


def recorder_env(database: Database) -> dict[str, str]:
    """The eventsourcing setting that installs the personal-details recorder."""
    name = "SQLitePersonalDataRecorder" if database.is_sqlite else "PostgresPersonalDataRecorder"
    return {"APPLICATION_RECORDER_TOPIC": f"{__name__}:{name}"}


class PersonalDataStore:
    """Reads and erases the personal-details table."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def find(self, ambassador_id: UUID) -> PersonalDetails | None:
        """The ambassador's details, or None once erased."""
        return self.find_many([str(ambassador_id)]).get(str(ambassador_id))

    def find_many(self, ambassador_ids: list[str]) -> dict[str, PersonalDetails]:
        """The details of those ambassadors that still have some, by id."""
        if not ambassador_ids:
            return {}
        table = personal_data
        with self.database.reading() as conn:
            rows = conn.execute(
                sa.select(table).where(table.c.ambassador_id.in_(ambassador_ids))
            ).all()
        return {row.ambassador_id: PersonalDetails(row.name, row.email) for row in rows}

    def with_email(self, email: str) -> list[str]:
        """The ids of the ambassadors whose email is this one, case aside."""
        table = personal_data
        with self.database.reading() as conn:
            rows = conn.execute(
                sa.select(table.c.ambassador_id).where(
                    sa.func.lower(table.c.email) == email.lower()
                )
            ).all()
        return [row.ambassador_id for row in rows]

    def replace(self, ambassador_id: UUID, details: PersonalDetails) -> bool:
        """Replace the details of an ambassador that has some (no event); False once erased."""
        table = personal_data
        with self.database.writing() as conn:
            changed = conn.execute(
                sa.update(table)
                .where(table.c.ambassador_id == str(ambassador_id))
                .values(name=details.name or "", email=details.email)
            ).rowcount
        return bool(changed)

    def erase(self, ambassador_id: UUID) -> None:
        """Delete the details for good and purge the SQLite WAL (a repeat is a no-op)."""
        with self.database.writing() as conn:
            conn.execute(
                sa.delete(personal_data).where(personal_data.c.ambassador_id == str(ambassador_id))
            )
        if self.database.is_sqlite:
            self._truncate_wal()

    def _truncate_wal(self, attempts: int = 100) -> None:
        """Checkpoint the WAL into the database file and truncate it to zero bytes."""
        for _ in range(attempts):
            raw = self.database.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = cursor.fetchone()
                cursor.close()
            finally:
                raw.close()
            if busy is not None and busy[0] == 0:
                return
            time.sleep(0.02)
        log.warning("the write-ahead log could not be truncated after an erasure; retry later")
