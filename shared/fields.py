"""Field types the request bodies of every service share (contract §1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from shared.i18n import N_

REGION_CODES = tuple(f"{n:02d}" for n in range(1, 18))
Region = Literal[
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15",
    "16", "17",
]  # fmt: skip

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def iso_date(value: Any) -> Any:
    """A `YYYY-MM-DD` string (or a date) as a date; ValueError otherwise."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError(N_("doit être une date écrite AAAA-MM-JJ"))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(N_("n'est pas une date du calendrier")) from None


BusinessDate = Annotated[date, BeforeValidator(iso_date)]
# Text holds no NUL character: PostgreSQL cannot store one in a text column, so a name accepted
# here would fail later in this service's store or in another service's projection.
NO_NUL = r"^[^\x00]*$"
NonEmptyText = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=500, pattern=NO_NUL)
]
OptionalText = Annotated[str, StringConstraints(strict=True, max_length=2000, pattern=NO_NUL)]
ReasonText = Annotated[str, StringConstraints(strict=True, max_length=500, pattern=NO_NUL)]
"""Why a record is corrected (a service documents what the reason enters)."""
ExternalRefText = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=200, pattern=NO_NUL)
]
"""A record's key in another system (a service documents what it is unique among)."""
Slug = Annotated[
    str,
    StringConstraints(strict=True, max_length=100, pattern=r"^[a-z0-9]+([-_][a-z0-9]+)*$"),
]
Neq = Annotated[str, StringConstraints(strict=True, pattern=r"^\d{10}$")]
PositiveInt = Annotated[StrictInt, Field(ge=1, le=1_000_000_000)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0, le=1_000_000_000)]


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields and loose types are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def refuse_null(*fields: str) -> Any:
    """A validator for a change's body: these fields may be left out, never given as null.

    The refusal names the field (`name cannot be null`).
    """

    def not_null(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null")
        return value

    return field_validator(*fields, mode="before")(not_null)


def not_nullable_in_schema(*fields: str) -> Callable[[dict[str, Any]], None]:
    """A `json_schema_extra` showing these optional fields of a change as never null."""

    def document(schema: dict[str, Any]) -> None:
        for field in fields:
            prop = schema["properties"][field]
            kept = [branch for branch in prop.pop("anyOf", []) if branch.get("type") != "null"]
            if len(kept) == 1:
                prop.update(kept[0])
            prop.pop("default", None)

    return document


def is_region(value: str) -> bool:
    """True for a Québec administrative region code "01" … "17"."""
    return value in REGION_CODES


_SLUG = re.compile(r"^[a-z0-9]+([-_][a-z0-9]+)*$")


def is_slug(value: str) -> bool:
    """True for a lowercase slug such as a sector (`microbrasserie`, `arts-scene`)."""
    return len(value) <= 100 and _SLUG.match(value) is not None
