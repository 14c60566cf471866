"""The base of every service's eventsourcing Application."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import MutableOrImmutableAggregate
from eventsourcing.persistence import JSONTranscoder, Transcoding

from shared.persistence import CommandContext, Database
from shared.telemetry import is_enabled, tracer

log = logging.getLogger(__name__)


class DateAsISO(Transcoding):
    """Business dates are stored as ISO `YYYY-MM-DD`."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class CoopApplication(Application[UUID]):
    """An Application stored in a service's Database, whose saves carry a command context."""

    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "10000"}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Add business dates to eventsourcing's transcodings."""
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def __init__(self, database: Database, env: dict[str, str] | None = None) -> None:
        self.database = database
        self._listeners: list[Callable[[], None]] = []
        super().__init__(env={**database.eventsourcing_env(), **(env or {})})

    def on_saved(self, listener: Callable[[], None]) -> None:
        """Call `listener` after each save (wakes the relay and the local views)."""
        self._listeners.append(listener)

    def record(
        self, context: CommandContext | None, *aggregates: MutableOrImmutableAggregate[UUID] | None
    ) -> None:
        """Save the aggregates' pending events with the command's context, atomically."""
        kwargs: dict[str, Any] = {"context": context} if context is not None else {}
        span = (
            tracer().start_as_current_span(f"store {self.name}") if is_enabled() else nullcontext()
        )
        with span:
            self.save(*aggregates, **kwargs)
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # the command is recorded; followers catch up later
                log.exception("a follower failed after a save")


class StaleVersionError(Exception):
    """The client's `If-Match` names a version that is no longer current."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the resource is at version {current}")
        self.current = current


def check_version(current: int, expected: int | None) -> None:
    """Refuse a change made against another version than the current one."""
    if expected is not None and expected != current:
        raise StaleVersionError(current)
