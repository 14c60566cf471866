"""Local views: a service's own tables kept from its own notification log, exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from shared.application import CoopApplication
from shared.persistence import load_position, save_position

ApplyBatch = Callable[[sa.Connection, Sequence[tuple[int, Any]]], None]


class LocalView:
    """Applies each stored domain event to SQL tables, tracking the notification id applied.

    Caught up right after every save (so a service reads its own writes) and at start
    (so a crash between a save and its view update heals itself).
    """

    def __init__(
        self, app: CoopApplication, name: str, apply: ApplyBatch, *, batch: int = 1000
    ) -> None:
        self.app = app
        self.name = f"view:{name}"
        self.apply = apply
        self.batch = batch
        self._lock = threading.Lock()
        self._position = -1

    def catch_up(self) -> None:
        """Apply every notification recorded since the view's position."""
        with self._lock:
            latest = self.app.recorder.max_notification_id() or 0
            if latest <= self._position:
                return
            with self.app.database.writing(durable=False) as conn:
                position = load_position(conn, self.name)
                while position < latest:
                    notifications = self.app.recorder.select_notifications(
                        position + 1, self.batch, stop=latest
                    )
                    if not notifications:
                        break
                    self.apply(
                        conn,
                        [(n.id, self.app.mapper.to_domain_event(n)) for n in notifications],
                    )
                    position = notifications[-1].id
                save_position(conn, self.name, position)
            self._position = position
