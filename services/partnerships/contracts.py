"""From the partnerships domain's events to the integration events of `COOP_PARTNERSHIPS`."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from services.partnerships.domain import Partner, ResearchProject, SectorTable
from shared.contracts import partnerships as wire
from shared.contracts.partnerships import PARTNERSHIPS

__all__ = ["PARTNERSHIPS", "to_integration"]


def _plain(value: Any) -> Any:
    """A changed field's value as JSON carries it."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_integration(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The integration event type and data of a stored domain event."""
    owner = str(event.originator_id)
    payload: Any
    match event:
        case Partner.Registered():
            payload = wire.PartnerRegistered(
                partner_id=owner, name=event.name, kind=event.kind, region=event.region,
                aliases=list(event.aliases), website=event.website,
            )  # fmt: skip
        case Partner.Updated():
            changes = {k: _plain(v) for k, v in event.changes.items()}
            payload = wire.PartnerUpdated(partner_id=owner, changes=changes)
        case Partner.Deactivated():
            payload = wire.PartnerDeactivated(partner_id=owner)
        case Partner.Reactivated():
            payload = wire.PartnerReactivated(partner_id=owner)
        case ResearchProject.Started():
            payload = wire.ResearchProjectStarted(
                project_id=owner, title=event.title, theme=event.theme,
                partner_ids=[str(p) for p in event.partner_ids],
                started_on=event.started_on.isoformat(),
            )  # fmt: skip
        case ResearchProject.Updated():
            changes = {k: _plain(v) for k, v in event.changes.items()}
            payload = wire.ResearchProjectUpdated(project_id=owner, changes=changes)
        case ResearchProject.Completed():
            payload = wire.ResearchProjectCompleted(
                project_id=owner, ended_on=event.ended_on.isoformat()
            )
        case SectorTable.Formed():
            payload = wire.SectorTableFormed(
                table_id=owner, name=event.name, sector=event.sector,
                formed_on=event.formed_on.isoformat(),
            )  # fmt: skip
        case SectorTable.Renamed():
            payload = wire.SectorTableRenamed(table_id=owner, name=event.name)
        case SectorTable.MemberAdded():
            payload = wire.SectorTableMemberAdded(
                table_id=owner, cooperative_id=str(event.cooperative_id),
                joined_on=event.joined_on.isoformat(),
            )  # fmt: skip
        case SectorTable.MemberRemoved():
            payload = wire.SectorTableMemberRemoved(
                table_id=owner, cooperative_id=str(event.cooperative_id),
                left_on=event.left_on.isoformat(),
            )  # fmt: skip
        case SectorTable.ActionLogged():
            payload = wire.SectorTableActionLogged(
                table_id=owner, action_id=str(event.action_id), kind=event.kind,
                title=event.title, performed_on=event.performed_on.isoformat(),
                partner_ids=[str(p) for p in event.partner_ids],
            )  # fmt: skip
        case SectorTable.ActionWithdrawn():
            payload = wire.SectorTableActionWithdrawn(
                table_id=owner, action_id=str(event.action_id), reason=event.reason
            )
        case SectorTable.PlacementSecured():
            payload = wire.RetailPlacementSecured(
                table_id=owner, placement_id=str(event.placement_id),
                retailer_id=str(event.retailer_id), started_on=event.started_on.isoformat(),
                note=event.note,
            )  # fmt: skip
        case SectorTable.PlacementEnded():
            payload = wire.RetailPlacementEnded(
                table_id=owner, placement_id=str(event.placement_id),
                retailer_id=str(event.retailer_id), ended_on=event.ended_on.isoformat(),
            )  # fmt: skip
        case SectorTable.Dissolved():
            payload = wire.SectorTableDissolved(
                table_id=owner, dissolved_on=event.dissolved_on.isoformat()
            )
        case _:
            return None
    return type(payload).__name__, payload.model_dump(mode="json")
