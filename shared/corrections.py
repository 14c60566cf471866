"""What every correction route shares (contract §10, §16.2–§16.5), over `shared.http`.

A correction honours `If-Match` on its resource (on the parent's version for a sub-record),
runs again when a concurrent change of the same aggregate won the save, takes a withdrawal's
`reason` from the query, and a create naming a known `external_ref` answers with that record.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from eventsourcing.persistence import IntegrityError as EventStoreConflict
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from shared.fields import RequestBody
from shared.http import Command, PageRequest, check_if_match, page, replayed
from shared.integration import rfc3339
from shared.problems import Problem, invalid

ResponseT = TypeVar("ResponseT")
ATTEMPTS = 5


class Withdrawal(RequestBody):
    """A withdrawal has no body: its reason is the `reason` query parameter."""


def retried(handler: Callable[..., ResponseT]) -> Callable[..., ResponseT]:
    """Run a correction again when a concurrent change of its aggregate won the save.

    Each attempt reads the aggregate anew, so a stale `If-Match` then answers 412.
    """

    @functools.wraps(handler)
    def attempt(*args: Any, **kwargs: Any) -> ResponseT:
        for _attempt in range(ATTEMPTS):
            try:
                return handler(*args, **kwargs)
            except EventStoreConflict:
                continue
        raise Problem(409, "the resource kept changing concurrently; retry the request")

    return attempt


def withdrawal_reason(request: Request) -> str | None:
    """The `reason` query parameter of a withdrawal (at most 500 characters)."""
    reason = request.query_params.get("reason") or None
    if reason is not None and (len(reason) > 500 or "\x00" in reason):
        raise invalid("reason", "reason is at most 500 characters, without NUL")
    return reason


def expected_version(request: Request, version: int) -> int | None:
    """412 on a stale `If-Match`; the version a change is made against when one was given."""
    check_if_match(request, version)
    return version if "if-match" in request.headers else None


def unless_replayed(command: Command[Any], version: Callable[[], int]) -> int | None:
    """`expected_version` for a command, except when it replays an idempotent answer."""
    idempotency = command.idempotency
    if idempotency is not None and idempotency.previous is not None:
        return None
    return expected_version(command.request, version())


def known_reference(
    command: Command[Any],
    holder: str,
    render: Callable[[str], dict[str, Any]],
    headers: Callable[[dict[str, Any]], dict[str, str]] = lambda _doc: {},
) -> JSONResponse:
    """200 with the record that holds the create's `external_ref`, as it is now; nothing
    recorded. The idempotency key, if any, remembers that answer."""
    idempotency = command.idempotency
    stored = idempotency.stored() if idempotency else None
    if stored is not None:  # a concurrent twin with the same key won the race
        doc = render(stored.resource)
        return replayed(stored.status, doc, headers(doc))
    if idempotency is not None:
        idempotency.remember(200, holder)
    doc = render(holder)
    return JSONResponse(doc, status_code=200, headers=headers(doc))


class HistoryEntry(BaseModel):
    """One recorded event of a resource, as its integration event's data (contract §1 v2)."""

    model_config = ConfigDict(extra="forbid")

    type: str
    version: int
    recorded_at: datetime
    data: dict[str, Any]


def history_page(
    events: Iterable[Any],
    to_integration: Callable[[Any], tuple[str, dict[str, Any]] | None],
    paging: PageRequest,
) -> dict[str, Any]:
    """A page of a resource's recorded events, oldest first; its cursor is the version."""
    items: list[dict[str, Any]] = []
    positions: list[int] = []
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
