"""`COOP_PARTNERSHIPS`: what the partnerships service publishes (contract §12)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.integration import Payload, StreamContract

PARTNERSHIPS = StreamContract(stream="COOP_PARTNERSHIPS", service="partnerships")


@PARTNERSHIPS.event
class PartnerRegistered(Payload):
    """A partner of the network entered the directory."""

    partner_id: str
    name: str
    kind: str
    region: str | None = None
    aliases: list[str] = Field(default_factory=list)
    website: str | None = None


@PARTNERSHIPS.event
class PartnerUpdated(Payload):
    """Some of a partner's fields changed (the changed fields, with their new values)."""

    partner_id: str
    changes: dict[str, Any]


@PARTNERSHIPS.event
class PartnerDeactivated(Payload):
    """The partner is no longer active (it may still be referenced)."""

    partner_id: str


@PARTNERSHIPS.event
class PartnerReactivated(Payload):
    """The partner is active again."""

    partner_id: str


@PARTNERSHIPS.event
class ResearchProjectStarted(Payload):
    """A research project with partners started."""

    project_id: str
    title: str
    theme: str | None = None
    partner_ids: list[str]
    started_on: str


@PARTNERSHIPS.event
class ResearchProjectUpdated(Payload):
    """Some of a research project's fields changed."""

    project_id: str
    changes: dict[str, Any]


@PARTNERSHIPS.event
class ResearchProjectCompleted(Payload):
    """The research project ended."""

    project_id: str
    ended_on: str


@PARTNERSHIPS.event
class SectorTableFormed(Payload):
    """Cooperatives of a sector formed a table."""

    table_id: str
    name: str
    sector: str
    formed_on: str


@PARTNERSHIPS.event
class SectorTableRenamed(Payload):
    """The table has a new name."""

    table_id: str
    name: str


@PARTNERSHIPS.event
class SectorTableMemberAdded(Payload):
    """A member cooperative joined the table."""

    table_id: str
    cooperative_id: str
    joined_on: str


@PARTNERSHIPS.event
class SectorTableMemberRemoved(Payload):
    """A cooperative left the table (`left_on`: its first day out)."""

    table_id: str
    cooperative_id: str
    left_on: str


@PARTNERSHIPS.event
class SectorTableActionLogged(Payload):
    """The table acted together: visibility, representation, pooling…"""

    table_id: str
    action_id: str
    kind: str
    title: str
    performed_on: str
    partner_ids: list[str] = Field(default_factory=list)


@PARTNERSHIPS.event
class SectorTableActionWithdrawn(Payload):
    """A table action recorded by mistake was withdrawn."""

    table_id: str
    action_id: str
    reason: str | None = None


@PARTNERSHIPS.event
class RetailPlacementSecured(Payload):
    """Space was reserved for the table's products at a retailer."""

    table_id: str
    placement_id: str
    retailer_id: str
    started_on: str
    note: str | None = None


@PARTNERSHIPS.event
class RetailPlacementEnded(Payload):
    """A retail placement ended."""

    table_id: str
    placement_id: str
    retailer_id: str
    ended_on: str


@PARTNERSHIPS.event
class SectorTableDissolved(Payload):
    """The table was dissolved."""

    table_id: str
    dissolved_on: str
