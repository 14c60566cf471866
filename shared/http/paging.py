"""Lists: `limit` and an opaque `cursor` in, `{items, next_cursor}` out; optional filters."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict

from shared.problems import invalid

MAX_POSITION = 2**63 - 1  # the largest position a BIGINT column holds


@dataclass(frozen=True)
class PageRequest:
    """`limit` and the position after which a page starts."""

    limit: int
    after: int


def _page_request(
    limit: Annotated[str | None, Query()] = None, cursor: Annotated[str | None, Query()] = None
) -> PageRequest:
    size = 100
    if limit not in (None, ""):
        try:
            size = int(limit)
        except ValueError:
            raise invalid("limit", "must be a whole number from 1 to 1000") from None
        if not 1 <= size <= 1000:
            raise invalid("limit", "must be a whole number from 1 to 1000")
    after = 0
    if cursor:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            after = int(decoded["after"])
            if not 0 <= after <= MAX_POSITION:
                raise ValueError
        except (
            ValueError,
            TypeError,
            KeyError,
            OverflowError,
            RecursionError,
            binascii.Error,
            UnicodeDecodeError,
        ):
            raise invalid("cursor", "this cursor cannot be read") from None
    return PageRequest(size, after)


Paging = Annotated[PageRequest, Depends(_page_request)]

ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """A page of a list (for the OpenAPI): its items and the cursor of the next page."""

    model_config = ConfigDict(extra="forbid")

    items: list[ItemT]
    next_cursor: str | None


def page(items: list[Any], positions: list[int], limit: int) -> dict[str, Any]:
    """`{"items", "next_cursor"}` from up to limit+1 rows and their positions."""
    more = len(items) > limit
    items, positions = items[:limit], positions[:limit]
    cursor = None
    if more and positions:
        raw = json.dumps({"after": positions[-1]}).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {"items": items, "next_cursor": cursor}


def numbered_page(
    records: list[Any], render: Callable[[Any], dict[str, Any]], paging: PageRequest
) -> dict[str, Any]:
    """A page of a parent's records in recording order. Each record carries its `number`, its
    place in that order with withdrawn records counted: the cursor stands on it, so a record
    withdrawn between two pages makes the next one skip nothing."""
    chosen = sorted((r for r in records if r.number > paging.after), key=lambda r: r.number)
    chosen = chosen[: paging.limit + 1]
    return page([render(r) for r in chosen], [r.number for r in chosen], paging.limit)


def filter_value(value: str | None, field: str, allowed: Callable[[str], bool]) -> str | None:
    """An optional filter: empty means none; a value `allowed` refuses → 422."""
    if value is None or value == "":
        return None
    if not allowed(value):
        raise invalid(field, f"{value!r} is not a valid {field}")
    return value
