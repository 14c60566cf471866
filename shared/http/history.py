"""An aggregate's history as a page: its recorded events, each as its integration event."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.http.paging import PageRequest, page
from shared.integration import rfc3339

ToIntegration = Callable[[Any], tuple[str, dict[str, Any]] | None]
"""A service's mapping of a stored domain event to its integration type and data (or None)."""


class HistoryEntry(BaseModel):
    """One recorded event, as its integration event's data (a service names what it is of)."""

    model_config = ConfigDict(extra="forbid")

    type: str
    version: int
    recorded_at: datetime
    data: dict[str, Any]


def history_page(
    events: Iterable[Any], to_integration: ToIntegration, paging: PageRequest
) -> dict[str, Any]:
    """A page of an aggregate's events, oldest first (cursor: the aggregate's version).

    Events without an integration form are left out.
    """
    items, positions = [], []
    for event in events:
        if event.originator_version <= paging.after:
            continue
        mapped = to_integration(event)
        if mapped is None:
            continue
        items.append(
            {
                "type": mapped[0],
                "version": event.originator_version,
                "recorded_at": rfc3339(event.timestamp),
                "data": mapped[1],
            }
        )
        positions.append(event.originator_version)
        if len(items) > paging.limit:
            break
    return page(items, positions, paging.limit)
