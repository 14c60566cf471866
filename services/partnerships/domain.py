"""The network's partners, research projects and sector tables (contract §12)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.names import normalized_name


def partner_names(name: str, aliases: list[str]) -> tuple[list[str], set[str]]:
    """The aliases kept (de-duplicated once normalized, the name's own form dropped) and every
    normalized name the partner goes by."""
    own = normalized_name(name)
    seen = {own}
    kept: list[str] = []
    for alias in aliases:
        normalized = normalized_name(alias)
        if normalized and normalized not in seen:
            seen.add(normalized)
            kept.append(alias.strip())
    return kept, seen


class Partner(Aggregate):
    """A partner of the network: a Pôle d'économie sociale, the CQCM, a university, a retailer…"""

    class Registered(Aggregate.Created):
        """The partner entered the directory."""

        name: str
        kind: str
        region: str | None
        aliases: list[str]
        website: str | None
        external_ref: str | None

    class Updated(Aggregate.Event):
        """Some fields changed (only those, with their new values)."""

        changes: dict[str, Any]

    class Deactivated(Aggregate.Event):
        """The partner is inactive (it may still be referenced)."""

    class Reactivated(Aggregate.Event):
        """The partner is active again."""

    @event(Registered)
    def __init__(
        self,
        id: UUID,
        name: str,
        kind: str,
        region: str | None,
        aliases: list[str],
        website: str | None,
        external_ref: str | None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.region = region
        self.aliases = list(aliases)
        self.website = website
        self.external_ref = external_ref
        self.active = True

    @property
    def names(self) -> set[str]:
        """Every normalized name the partner goes by."""
        return partner_names(self.name, self.aliases)[1]

    def changes(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """The proposed fields that differ from the partner's (aliases cleaned first)."""
        name = proposed.get("name", self.name)
        if "aliases" in proposed or "name" in proposed:
            aliases = proposed.get("aliases", self.aliases)
            proposed = {**proposed, "aliases": partner_names(name, aliases)[0]}
        return {k: v for k, v in proposed.items() if getattr(self, k) != v}

    @event(Updated)
    def update(self, changes: dict[str, Any]) -> None:
        """Apply changed fields."""
        for field, value in changes.items():
            setattr(self, field, value)

    def deactivate(self) -> None:
        """The partner is no longer active."""
        if not self.active:
            raise PartnerStatusError("the partner is already inactive")
        self._deactivate()

    @event(Deactivated)
    def _deactivate(self) -> None:
        self.active = False

    def reactivate(self) -> None:
        """The partner is active again."""
        if self.active:
            raise PartnerStatusError("the partner is already active")
        self._reactivate()

    @event(Reactivated)
    def _reactivate(self) -> None:
        self.active = True

    @property
    def status(self) -> str:
        """`active` or `inactive`."""
        return "active" if self.active else "inactive"


class ResearchProject(Aggregate):
    """A research project the network takes part in, with its partners."""

    class Started(Aggregate.Created):
        """The project started."""

        title: str
        theme: str | None
        partner_ids: list[UUID]
        started_on: date
        external_ref: str | None

    class Updated(Aggregate.Event):
        """Some fields changed."""

        changes: dict[str, Any]

    class Completed(Aggregate.Event):
        """The project ended."""

        ended_on: date

    @event(Started)
    def __init__(
        self,
        id: UUID,
        title: str,
        theme: str | None,
        partner_ids: list[UUID],
        started_on: date,
        external_ref: str | None,
    ) -> None:
        self.title = title
        self.theme = theme
        self.partner_ids = list(partner_ids)
        self.started_on = started_on
        self.ended_on: date | None = None
        self.external_ref = external_ref

    def changes(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """The proposed fields that differ; a start after the end is refused."""
        found = {k: v for k, v in proposed.items() if getattr(self, k) != v}
        started_on = found.get("started_on", self.started_on)
        if self.ended_on is not None and self.ended_on < started_on:
            raise ProjectDateError("started_on cannot be after the project's end", "started_on")
        return found

    @event(Updated)
    def update(self, changes: dict[str, Any]) -> None:
        """Apply changed fields."""
        for field, value in changes.items():
            setattr(self, field, value)

    def complete(self, ended_on: date) -> None:
        """The project ended on `ended_on`."""
        if self.ended_on is not None:
            raise ProjectCompletedError("the project is already completed")
        if ended_on < self.started_on:
            raise ProjectDateError("ended_on cannot be before started_on", "ended_on")
        self._complete(ended_on)

    @event(Completed)
    def _complete(self, ended_on: date) -> None:
        self.ended_on = ended_on

    @property
    def status(self) -> str:
        """`ongoing` or `completed`."""
        return "ongoing" if self.ended_on is None else "completed"


@dataclass(frozen=True)
class TableMember:
    """A cooperative's membership in a table; `left_on` is its first day out."""

    cooperative_id: UUID
    joined_on: date
    left_on: date | None = None


@dataclass(frozen=True)
class TableAction:
    """Something the table did together."""

    id: UUID
    kind: str
    title: str
    performed_on: date
    partner_ids: tuple[UUID, ...]
    external_ref: str | None
    withdrawn: bool = False
    number: int = 0
    """Its place in the table's recording order, from 1 (withdrawn actions counted)."""


@dataclass(frozen=True)
class RetailPlacement:
    """Space reserved for the table's products at a retailer."""

    id: UUID
    retailer_id: UUID
    started_on: date
    note: str | None
    external_ref: str | None
    ended_on: date | None = None
    number: int = 0
    """Its place in the table's recording order, from 1."""

    @property
    def is_open(self) -> bool:
        """True while the placement has no end."""
        return self.ended_on is None


class SectorTable(Aggregate):
    """A sector table: cooperatives of one sector acting together (the microbreweries'…)."""

    class Formed(Aggregate.Created):
        """The table was formed."""

        name: str
        sector: str
        formed_on: date
        external_ref: str | None

    class Renamed(Aggregate.Event):
        """The table has a new name."""

        name: str

    class MemberAdded(Aggregate.Event):
        """A cooperative joined the table."""

        cooperative_id: UUID
        joined_on: date

    class MemberRemoved(Aggregate.Event):
        """A cooperative left the table."""

        cooperative_id: UUID
        left_on: date

    class ActionLogged(Aggregate.Event):
        """The table acted."""

        action_id: UUID
        kind: str
        title: str
        performed_on: date
        partner_ids: list[UUID]
        external_ref: str | None

    class ActionWithdrawn(Aggregate.Event):
        """A table action recorded by mistake was withdrawn."""

        action_id: UUID
        reason: str | None

    class PlacementSecured(Aggregate.Event):
        """Space was reserved at a retailer."""

        placement_id: UUID
        retailer_id: UUID
        started_on: date
        note: str | None
        external_ref: str | None

    class PlacementEnded(Aggregate.Event):
        """A placement ended."""

        placement_id: UUID
        retailer_id: UUID
        ended_on: date

    class Dissolved(Aggregate.Event):
        """The table was dissolved."""

        dissolved_on: date

    @event(Formed)
    def __init__(
        self, id: UUID, name: str, sector: str, formed_on: date, external_ref: str | None
    ) -> None:
        self.name = name
        self.sector = sector
        self.formed_on = formed_on
        self.external_ref = external_ref
        self.dissolved_on: date | None = None
        self.periods: list[TableMember] = []
        self.actions: dict[UUID, TableAction] = {}
        self.placements: dict[UUID, RetailPlacement] = {}

    @property
    def status(self) -> str:
        """`active` or `dissolved`."""
        return "active" if self.dissolved_on is None else "dissolved"

    def check_active(self) -> None:
        """A dissolved table takes no new member, action or placement."""
        if self.dissolved_on is not None:
            raise TableDissolvedError("the sector table is dissolved")

    @event(Renamed)
    def rename(self, name: str) -> None:
        """Give the table a new name."""
        self.name = name

    @property
    def members(self) -> dict[UUID, TableMember]:
        """Each cooperative's latest membership period (`periods` keeps them all)."""
        return {period.cooperative_id: period for period in self.periods}

    def member(self, cooperative_id: UUID) -> TableMember | None:
        """The cooperative's current membership (without an end), if any."""
        found = self.members.get(cooperative_id)
        return found if found is not None and found.left_on is None else None

    def check_member(self, cooperative_id: UUID) -> TableMember:
        """The cooperative's current membership: 404 if it never belonged, and
        `already-withdrawn` if it left (a repeated removal, §16.4)."""
        current = self.member(cooperative_id)
        if current is not None:
            return current
        if cooperative_id in self.members:
            raise AlreadyWithdrawnError(f"{cooperative_id} has already left the table")
        raise TableMemberNotFoundError(f"{cooperative_id} is not a member of the table")

    def add_member(self, cooperative_id: UUID, joined_on: date) -> TableMember:
        """A cooperative joins the table (again after it left: a new period, from its last
        `left_on` on)."""
        self.check_active()
        latest = self.members.get(cooperative_id)
        if latest is not None and latest.left_on is not None and joined_on < latest.left_on:
            raise TableDateError(
                "joined_on cannot be before the day the cooperative last left the table",
                "joined_on",
            )
        self._add_member(cooperative_id, joined_on)
        return self.periods[-1]

    @event(MemberAdded)
    def _add_member(self, cooperative_id: UUID, joined_on: date) -> None:
        self.periods.append(TableMember(cooperative_id, joined_on))

    def remove_member(self, cooperative_id: UUID, left_on: date) -> None:
        """A cooperative leaves the table; `left_on` is its first day out."""
        current = self.check_member(cooperative_id)
        if left_on <= current.joined_on:
            raise TableDateError("left_on must be after the member's joined_on", "left_on")
        self._remove_member(cooperative_id, left_on)

    @event(MemberRemoved)
    def _remove_member(self, cooperative_id: UUID, left_on: date) -> None:
        for index in range(len(self.periods) - 1, -1, -1):
            period = self.periods[index]
            if period.cooperative_id == cooperative_id and period.left_on is None:
                self.periods[index] = replace(period, left_on=left_on)
                return

    def log_action(
        self,
        action_id: UUID,
        *,
        kind: str,
        title: str,
        performed_on: date,
        partner_ids: list[UUID],
        external_ref: str | None,
    ) -> TableAction:
        """Record something the table did together."""
        self.check_active()
        self._log_action(action_id, kind, title, performed_on, partner_ids, external_ref)
        return self.actions[action_id]

    @event(ActionLogged)
    def _log_action(
        self,
        action_id: UUID,
        kind: str,
        title: str,
        performed_on: date,
        partner_ids: list[UUID],
        external_ref: str | None,
    ) -> None:
        self.actions[action_id] = TableAction(
            action_id, kind, title, performed_on, tuple(partner_ids), external_ref,
            number=len(self.actions) + 1,
        )  # fmt: skip

    def action(self, action_id: UUID) -> TableAction:
        """A recorded action (withdrawn or not)."""
        found = self.actions.get(action_id)
        if found is None:
            raise TableActionNotFoundError(f"no action {action_id} at this table")
        return found

    def withdraw_action(self, action_id: UUID, reason: str | None) -> None:
        """Withdraw an action recorded by mistake."""
        if self.action(action_id).withdrawn:
            raise AlreadyWithdrawnError("the action is already withdrawn")
        self._withdraw_action(action_id, reason)

    @event(ActionWithdrawn)
    def _withdraw_action(self, action_id: UUID, reason: str | None) -> None:
        self.actions[action_id] = replace(self.actions[action_id], withdrawn=True)

    def secure_placement(
        self,
        placement_id: UUID,
        *,
        retailer_id: UUID,
        started_on: date,
        note: str | None,
        external_ref: str | None,
    ) -> RetailPlacement:
        """Reserve space at a retailer; one open placement per retailer."""
        self.check_active()
        self.check_no_open_placement(retailer_id)
        self._secure_placement(placement_id, retailer_id, started_on, note, external_ref)
        return self.placements[placement_id]

    def check_no_open_placement(self, retailer_id: UUID) -> None:
        """One open placement per retailer and table (409 before any business 422)."""
        if any(p.is_open and p.retailer_id == retailer_id for p in self.placements.values()):
            raise PlacementOpenError("this retailer already has an open placement with the table")

    @event(PlacementSecured)
    def _secure_placement(
        self,
        placement_id: UUID,
        retailer_id: UUID,
        started_on: date,
        note: str | None,
        external_ref: str | None,
    ) -> None:
        self.placements[placement_id] = RetailPlacement(
            placement_id, retailer_id, started_on, note, external_ref,
            number=len(self.placements) + 1,
        )  # fmt: skip

    def placement(self, placement_id: UUID) -> RetailPlacement:
        """A placement of the table."""
        found = self.placements.get(placement_id)
        if found is None:
            raise PlacementNotFoundError(f"no placement {placement_id} at this table")
        return found

    def end_placement(self, placement_id: UUID, ended_on: date) -> RetailPlacement:
        """End a placement."""
        placement = self.placement(placement_id)
        if not placement.is_open:
            raise PlacementEndedError("the placement has already ended")
        if ended_on < placement.started_on:
            raise TableDateError("ended_on cannot be before the placement's started_on", "ended_on")
        self._end_placement(placement_id, placement.retailer_id, ended_on)
        return self.placements[placement_id]

    @event(PlacementEnded)
    def _end_placement(self, placement_id: UUID, retailer_id: UUID, ended_on: date) -> None:
        self.placements[placement_id] = replace(self.placements[placement_id], ended_on=ended_on)

    def dissolve(self, dissolved_on: date) -> None:
        """Dissolve the table; not while a placement is open."""
        self.check_active()
        if any(p.is_open for p in self.placements.values()):
            raise PlacementOpenError("end the table's open placements before dissolving it")
        if dissolved_on < self.formed_on:
            raise TableDateError("dissolved_on cannot be before formed_on", "dissolved_on")
        self._dissolve(dissolved_on)

    @event(Dissolved)
    def _dissolve(self, dissolved_on: date) -> None:
        self.dissolved_on = dissolved_on

    def by_reference(self, external_ref: str) -> TableAction | RetailPlacement | None:
        """The table's action or placement that holds an external reference."""
        records: list[TableAction | RetailPlacement] = [
            *self.actions.values(),
            *self.placements.values(),
        ]
        return next((r for r in records if r.external_ref == external_ref), None)


class PartnershipsError(Exception):
    """Base of the partnerships service's refusals."""


class PartnerNotFoundError(PartnershipsError):
    """No partner has this id."""


class ProjectNotFoundError(PartnershipsError):
    """No research project has this id."""


class TableNotFoundError(PartnershipsError):
    """No sector table has this id."""


class TableMemberNotFoundError(PartnershipsError):
    """The cooperative is not a member of the table."""


class TableActionNotFoundError(PartnershipsError):
    """No such action at this table."""


class PlacementNotFoundError(PartnershipsError):
    """No such placement at this table."""


class PartnerNameTakenError(PartnershipsError):
    """Another partner already goes by this name (or alias), compared normalized."""

    def __init__(self, message: str, existing_id: str) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class PartnerStatusError(PartnershipsError):
    """The partner is already in that status."""


class UnknownPartnerError(PartnershipsError):
    """A partner id names no partner of the directory; `field` names where it was given."""

    def __init__(self, message: str, field: str = "partner_ids") -> None:
        super().__init__(message)
        self.field = field

    @property
    def errors(self) -> list[tuple[str, str]]:
        """The field refused, as a 422 lists it."""
        return [(self.field, str(self))]


class NotARetailerError(PartnershipsError):
    """Placements are with retailers (partners of kind `detaillant`) only."""


class UnknownSectorError(PartnershipsError):
    """The sector is not on the sector list."""


class CooperativeNotMemberError(PartnershipsError):
    """The cooperative is not a member of the network on that date, as far as this service knows."""


class ProjectCompletedError(PartnershipsError):
    """The research project is already completed."""


class DateOrderError(PartnershipsError):
    """A date out of order with another of the record's; `field` names the one refused."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field

    @property
    def errors(self) -> list[tuple[str, str]]:
        """The field refused, as a 422 lists it."""
        return [(self.field, str(self))]


class ProjectDateError(DateOrderError):
    """A project cannot end before it starts."""


class TableDissolvedError(PartnershipsError):
    """The table is dissolved."""


class TableDateError(DateOrderError):
    """A date of the table's records is out of order."""


class AlreadyWithdrawnError(PartnershipsError):
    """The record was already withdrawn."""


class PlacementOpenError(PartnershipsError):
    """A placement is open (with that retailer, or at all for a dissolution)."""


class PlacementEndedError(PartnershipsError):
    """The placement has already ended."""


class ExternalRefTakenError(PartnershipsError):
    """The external reference is used by a record under another parent."""
