"""Document views: each aggregate's current representation in a table, for lists and filters.

A service's `LocalView` calls `DocumentView.apply_batch`, which loads each aggregate the batch
touched once, at its newest version, and stores its representation with the filter columns.
The `position` column (the notification id that created the row) gives lists their creation
order and cursors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from shared.application import CoopApplication
from shared.local_view import LocalView


class DocumentView:
    """Keeps `table` (id, position, document, filter columns…) from the notification log."""

    def __init__(
        self,
        app: CoopApplication,
        table: sa.Table,
        represent: Callable[[Any], dict[str, Any]],
        columns: Callable[[Any], dict[str, Any]],
        *,
        applies_to: type | tuple[type, ...],
    ) -> None:
        self.app = app
        self.table = table
        self.represent = represent
        self.columns = columns
        self.applies_to = applies_to
        self.follower = LocalView(app, table.name, self.apply_batch)

    def catch_up(self) -> None:
        """Bring the table up to the notification log."""
        self.follower.catch_up()

    def apply_batch(self, conn: sa.Connection, events: Sequence[tuple[int, Any]]) -> None:
        """Store the newest representation of every aggregate these events touched."""
        touched: dict[UUID, tuple[int, int]] = {}
        for notification_id, event in events:
            first, _ = touched.get(event.originator_id, (notification_id, 0))
            touched[event.originator_id] = (first, event.originator_version)
        for aggregate_id, (first_position, version) in touched.items():
            aggregate: Any = self.app.repository.get(aggregate_id, version=version)
            if not isinstance(aggregate, self.applies_to):
                continue
            values = {
                "document": json.dumps(self.represent(aggregate)),
                **self.columns(aggregate),
            }
            key = self.table.c.id == str(aggregate_id)
            if conn.execute(sa.update(self.table).where(key).values(**values)).rowcount == 0:
                conn.execute(
                    sa.insert(self.table).values(
                        id=str(aggregate_id), position=first_position, **values
                    )
                )

    def page(
        self, conn: sa.Connection, where: Sequence[Any], after: int, limit: int
    ) -> tuple[list[dict[str, Any]], list[int]]:
        """Up to `limit + 1` documents after `after`, in creation order, with their positions."""
        rows = conn.execute(
            sa.select(self.table.c.document, self.table.c.position)
            .where(self.table.c.position > after, *where)
            .order_by(self.table.c.position)
            .limit(limit + 1)
        ).all()
        return [json.loads(r.document) for r in rows], [r.position for r in rows]


def document_table(metadata: sa.MetaData, name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A document table with the given filter columns."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False, unique=True),
        sa.Column("document", sa.Text, nullable=False),
        *columns,
    )
