"""Optimistic concurrency at the edge: a resource's `ETag` is its version, `If-Match` checks it."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from eventsourcing.persistence import IntegrityError as EventStoreConflict
from fastapi import Request

from shared.problems import Problem

if TYPE_CHECKING:
    from shared.http.commands import Command

ResponseT = TypeVar("ResponseT")
ATTEMPTS = 5

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


def etag(version: int) -> str:
    """The ETag of a resource at `version`."""
    return f'"{version}"'


def etag_header(body: dict[str, Any]) -> dict[str, str]:
    """The `ETag` header of a resource representation that carries its `version`."""
    return {"ETag": etag(body["version"])}


def check_if_match(request: Request, version: int) -> None:
    """412 when `If-Match` names another version than the current one."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return
    candidates = [_ETAG.match(part) for part in header.split(",")]
    if not any(m and int(m.group(1)) == version for m in candidates):
        raise Problem(412, f"the resource is at version {version}", headers={"ETag": etag(version)})


def expected_version(request: Request, version: int) -> int | None:
    """412 on a stale `If-Match`; the version a change is made against when one was given."""
    check_if_match(request, version)
    return version if "if-match" in request.headers else None


def unless_replayed(command: Command[Any], version: Callable[[], int]) -> int | None:
    """`expected_version` for a command, except when it replays an idempotent answer (the
    key's first answer stands, whatever the resource's version now)."""
    idempotency = command.idempotency
    if idempotency is not None and idempotency.previous is not None:
        return None
    return expected_version(command.request, version())


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
