"""What each kind of import reads: its columns, the API body it becomes, what it refers to.

The columns are the create body's field names (the API's own request model validates them), plus
`external_ref` and the columns that name another record. Nothing here restates the API's rules.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel


@dataclass(frozen=True)
class Reference:
    """A record a row names, by id, by external reference or (for a cooperative) by NEQ."""

    noun: Literal["cooperative", "activity", "ambassador"]
    service: str
    collection: str
    in_path: bool = False
    required: bool = True
    by_neq: bool = False

    @property
    def target(self) -> str:
        """The body field (or path parameter) that receives the resolved id."""
        return f"{self.noun}_id"

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns that may name it, in the order they are read."""
        names = (self.target, f"{self.noun}_external_ref")
        return (*names, f"{self.noun}_neq") if self.by_neq else names


COOPERATIVE = Reference("cooperative", "membership", "/v1/cooperatives", by_neq=True)
ACTIVITY = Reference("activity", "events", "/v1/activities")


@dataclass(frozen=True)
class Kind:
    """One kind of import (contract §13)."""

    name: str
    service: str
    path: str
    model_path: str
    references: tuple[Reference, ...] = ()
    external_ref: Literal["optional", "required", "none"] = "optional"
    extra_columns: tuple[str, ...] = ()
    personal_columns: tuple[str, ...] = ()
    alternatives: tuple[tuple[str, str], ...] = ()
    """(required column, another column that may stand in for it)."""

    @cached_property
    def model(self) -> type[BaseModel]:
        """The API's request model for a create of this kind."""
        module, _, name = self.model_path.partition(":")
        model: type[BaseModel] = getattr(importlib.import_module(module), name)
        return model

    @cached_property
    def body_fields(self) -> tuple[str, ...]:
        """The create body's fields, `external_ref` excepted."""
        return tuple(name for name in self.model.model_fields if name != "external_ref")

    @cached_property
    def field_schemas(self) -> dict[str, dict[str, Any]]:
        """Each body field's JSON schema (its type tells how a cell is read)."""
        schema = self.model.model_json_schema()
        properties: dict[str, dict[str, Any]] = schema.get("properties", {})
        return properties

    @cached_property
    def required_columns(self) -> tuple[str, ...]:
        """Columns every file of this kind must have."""
        targets = {ref.target for ref in self.references}
        required = [
            name
            for name, info in self.model.model_fields.items()
            if info.is_required() and name not in targets and name != "external_ref"
        ]
        if self.external_ref == "required":
            required.append("external_ref")
        return tuple(required)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Every column a file of this kind may have."""
        names = list(self.body_fields)
        for ref in self.references:
            names += [column for column in ref.columns if column not in names]
        if self.external_ref != "none":
            names.append("external_ref")
        return (*names, *self.extra_columns)

    @property
    def sends_external_ref(self) -> bool:
        """Whether the create accepts `external_ref` (attendances are keyed by their pair)."""
        return self.external_ref != "none"


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "cooperatives",
            "membership",
            "/v1/cooperatives",
            "services.membership.api:JoinRequest",
            extra_columns=("left_on", "left_reason"),
        ),
        Kind("activities", "events", "/v1/activities", "services.events.api:ScheduleRequest"),
        Kind(
            "attendances",
            "events",
            "/v1/activities/{activity_id}/attendances",
            "services.events.api:AttendanceRequest",
            references=(
                Reference("activity", "events", "/v1/activities", in_path=True),
                COOPERATIVE,
            ),
            external_ref="none",
        ),
        Kind(
            "public-attendance",
            "events",
            "/v1/activities/{activity_id}/public-attendance",
            "services.events.api:PublicAttendanceRequest",
            references=(Reference("activity", "events", "/v1/activities", in_path=True),),
        ),
        Kind(
            "ambassadors",
            "ambassadors",
            "/v1/ambassadors",
            "services.ambassadors.api:EnrollmentRequest",
            references=(COOPERATIVE,),
            external_ref="required",
            personal_columns=("name", "email"),
        ),
        Kind(
            "ambassador-actions",
            "ambassadors",
            "/v1/ambassadors/{ambassador_id}/actions",
            "services.ambassadors.api:ActionRequest",
            references=(
                Reference("ambassador", "ambassadors", "/v1/ambassadors", in_path=True),
                Reference("activity", "events", "/v1/activities", required=False),
            ),
        ),
        Kind(
            "partners", "partnerships", "/v1/partners", "services.partnerships.api:PartnerRequest"
        ),
        Kind(
            "research-projects",
            "partnerships",
            "/v1/research-projects",
            "services.partnerships.api:ResearchProjectRequest",
            extra_columns=("partner_external_refs",),
            alternatives=(("partner_ids", "partner_external_refs"),),
        ),
    )
}
"""Every kind `coop import` knows, by the name given on the command line."""
