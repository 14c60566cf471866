"""Partnerships use cases: the partner directory, research projects, sector tables."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, Generic, NamedTuple, Protocol, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError as EventStoreConflict

from services.partnerships.domain import (
    CooperativeNotMemberError,
    ExternalRefTakenError,
    NotARetailerError,
    Partner,
    PartnerNameTakenError,
    PartnerNotFoundError,
    ProjectNotFoundError,
    ResearchProject,
    RetailPlacement,
    SectorTable,
    TableAction,
    TableMember,
    TableNotFoundError,
    UnknownPartnerError,
    UnknownSectorError,
    partner_names,
)
from shared.application import CoopApplication, check_version
from shared.external_refs import holder_of, reference_claims
from shared.persistence import CommandContext, Database

RETAILER = "detaillant"
R = TypeVar("R")
Claims = tuple[tuple[str, str], ...]


class Members(Protocol):
    """Which cooperatives are members on a date, as this service learned from membership."""

    def is_member_on(self, cooperative_id: str, day: date) -> bool:
        """True when the cooperative is an active member on `day`."""


class Sectors(Protocol):
    """The sector list, as this service learned it from membership."""

    def is_listed(self, slug: str) -> bool:
        """True when the slug is on the sector list."""


class Recorded(NamedTuple, Generic[R]):
    """A sub-record of a table a command recorded (or found), and the table's version after."""

    record: R
    created: bool
    version: int


class KnownReference(Exception):
    """A create names an `external_ref` a record already holds: that record answers."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"the record {holder} already has this external_ref")
        self.holder = UUID(holder)


NAME_CLAIM = "partner-name:"
CLAIM_WIDTH = 300
"""The width of `coop_unique_claims.claim_key`."""


def name_claim(name: str) -> str:
    """The unique-claim key of a normalized name; a name too long for the key goes by its
    SHA-256, so two long names that differ only past the key's width never collide."""
    key = f"{NAME_CLAIM}{name}"
    if len(key) <= CLAIM_WIDTH:
        return key
    return f"{NAME_CLAIM}sha256:{hashlib.sha256(name.encode()).hexdigest()}"


def _name_claims(names: set[str], partner_id: UUID) -> Claims:
    return tuple((name_claim(name), str(partner_id)) for name in sorted(names))


class Partnerships(CoopApplication):
    """The partnerships service's application.

    Every name and alias a partner goes by (normalized) is a unique claim stored with the events
    that take or free it, so two partners never share one, whichever process records them.
    External references are claims too, never freed; those of a table's actions and placements
    are held by the table, so a reference used under another table is refused.
    """

    name = "partnerships"

    def __init__(
        self,
        database: Database,
        members: Members,
        sectors: Sectors,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(database, env)
        self.members = members
        self.sectors = sectors

    # --- partners -----------------------------------------------------------------------

    def register_partner(
        self,
        partner_id: UUID,
        *,
        name: str,
        kind: str,
        region: str | None,
        aliases: list[str],
        website: str | None,
        external_ref: str | None = None,
        context: CommandContext | None = None,
    ) -> Partner:
        """A partner enters the directory under names no other partner goes by."""
        self._check_reference("partner", external_ref)
        kept, names = partner_names(name, aliases)
        self._check_names_free(names, partner_id)
        partner = Partner(
            id=partner_id,
            name=name.strip(),
            kind=kind,
            region=region,
            aliases=kept,
            website=website,
            external_ref=external_ref,
        )
        claims = (
            *_name_claims(names, partner_id),
            *reference_claims("partner", external_ref, partner_id),
        )
        self._save(context, partner, claims=claims)
        return partner

    def partner(self, partner_id: UUID) -> Partner:
        """The partner as recorded now."""
        return self._get(partner_id, Partner, PartnerNotFoundError)

    def update_partner(
        self,
        partner_id: UUID,
        proposed: dict[str, Any],
        *,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Partner:
        """Change some of a partner's fields; its names stay its own."""
        partner = self.partner(partner_id)
        check_version(partner.version, expected_version)
        changes = partner.changes(proposed)
        if not changes:
            return partner
        before = partner.names
        after = partner_names(
            changes.get("name", partner.name), changes.get("aliases", partner.aliases)
        )[1]
        self._check_names_free(after - before, partner_id)
        partner.update(changes)
        self._save(
            context,
            partner,
            claims=_name_claims(after - before, partner_id),
            releases=_name_claims(before - after, partner_id),
        )
        return partner

    def deactivate_partner(
        self, partner_id: UUID, *, context: CommandContext | None = None
    ) -> Partner:
        """The partner is no longer active."""
        partner = self.partner(partner_id)
        partner.deactivate()
        self.record(context, partner)
        return partner

    def reactivate_partner(
        self, partner_id: UUID, *, context: CommandContext | None = None
    ) -> Partner:
        """The partner is active again."""
        partner = self.partner(partner_id)
        partner.reactivate()
        self.record(context, partner)
        return partner

    # --- research projects --------------------------------------------------------------

    def start_project(
        self,
        project_id: UUID,
        *,
        title: str,
        theme: str | None,
        partner_ids: list[UUID],
        started_on: date,
        external_ref: str | None = None,
        context: CommandContext | None = None,
    ) -> ResearchProject:
        """A research project starts with partners of the directory."""
        self._check_reference("research_project", external_ref)
        self._check_partners(partner_ids)
        project = ResearchProject(
            id=project_id,
            title=title,
            theme=theme,
            partner_ids=list(dict.fromkeys(partner_ids)),
            started_on=started_on,
            external_ref=external_ref,
        )
        self._save(
            context, project, claims=reference_claims("research_project", external_ref, project_id)
        )
        return project

    def project(self, project_id: UUID) -> ResearchProject:
        """The research project as recorded now."""
        return self._get(project_id, ResearchProject, ProjectNotFoundError)

    def update_project(
        self,
        project_id: UUID,
        proposed: dict[str, Any],
        *,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> ResearchProject:
        """Change some of a project's fields."""
        project = self.project(project_id)
        check_version(project.version, expected_version)
        if "partner_ids" in proposed:
            self._check_partners(proposed["partner_ids"])
            proposed = {**proposed, "partner_ids": list(dict.fromkeys(proposed["partner_ids"]))}
        changes = project.changes(proposed)
        if changes:
            project.update(changes)
            self.record(context, project)
        return project

    def complete_project(
        self, project_id: UUID, *, ended_on: date, context: CommandContext | None = None
    ) -> ResearchProject:
        """The project ended."""
        project = self.project(project_id)
        project.complete(ended_on)
        self.record(context, project)
        return project

    # --- sector tables ------------------------------------------------------------------

    def form_table(
        self,
        table_id: UUID,
        *,
        name: str,
        sector: str,
        formed_on: date,
        external_ref: str | None = None,
        context: CommandContext | None = None,
    ) -> SectorTable:
        """Cooperatives of a sector form a table."""
        self._check_reference("sector_table", external_ref)
        if not self.sectors.is_listed(sector):
            raise UnknownSectorError(f"{sector!r} is not on the sector list")
        table = SectorTable(
            id=table_id, name=name, sector=sector, formed_on=formed_on, external_ref=external_ref
        )
        self._save(context, table, claims=reference_claims("sector_table", external_ref, table_id))
        return table

    def table(self, table_id: UUID) -> SectorTable:
        """The sector table as recorded now."""
        return self._get(table_id, SectorTable, TableNotFoundError)

    def rename_table(
        self,
        table_id: UUID,
        name: str,
        *,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> SectorTable:
        """Give the table a new name (no event when it is the same)."""
        table = self.table(table_id)
        check_version(table.version, expected_version)
        if name != table.name:
            table.rename(name)
            self.record(context, table)
        return table

    def add_member(
        self,
        table_id: UUID,
        cooperative_id: UUID,
        *,
        joined_on: date,
        context: CommandContext | None = None,
    ) -> Recorded[TableMember]:
        """A member cooperative joins the table; created when it is new (else the existing one)."""
        table = self.table(table_id)
        table.check_active()
        existing = table.member(cooperative_id)
        if existing is not None:
            return Recorded(existing, False, table.version)
        if not self.members.is_member_on(str(cooperative_id), joined_on):
            raise CooperativeNotMemberError(
                f"the cooperative {cooperative_id} is not a member on {joined_on}"
                " as far as the partnerships service knows"
            )
        member = table.add_member(cooperative_id, joined_on)
        self.record(context, table)
        return Recorded(member, True, table.version)

    def remove_member(
        self,
        table_id: UUID,
        cooperative_id: UUID,
        *,
        left_on: date,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> SectorTable:
        """A cooperative leaves the table."""
        table = self.table(table_id)
        check_version(table.version, expected_version)
        table.remove_member(cooperative_id, left_on)
        self.record(context, table)
        return table

    def log_action(
        self,
        table_id: UUID,
        action_id: UUID,
        *,
        kind: str,
        title: str,
        performed_on: date,
        partner_ids: list[UUID],
        external_ref: str | None = None,
        context: CommandContext | None = None,
    ) -> Recorded[TableAction]:
        """Record a table action; an external reference already held answers its record."""
        table = self.table(table_id)
        known = self._table_reference(table, "table_action", external_ref)
        if isinstance(known, TableAction):
            return Recorded(known, False, table.version)
        table.check_active()
        self._check_partners(partner_ids)
        action = table.log_action(
            action_id,
            kind=kind,
            title=title,
            performed_on=performed_on,
            partner_ids=list(dict.fromkeys(partner_ids)),
            external_ref=external_ref,
        )
        self._save(context, table, claims=reference_claims("table_action", external_ref, table_id))
        return Recorded(action, True, table.version)

    def withdraw_action(
        self,
        table_id: UUID,
        action_id: UUID,
        *,
        reason: str | None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> SectorTable:
        """Withdraw a table action recorded by mistake."""
        table = self.table(table_id)
        check_version(table.version, expected_version)
        table.withdraw_action(action_id, reason)
        self.record(context, table)
        return table

    def secure_placement(
        self,
        table_id: UUID,
        placement_id: UUID,
        *,
        retailer_id: UUID,
        started_on: date,
        note: str | None,
        external_ref: str | None = None,
        context: CommandContext | None = None,
    ) -> Recorded[RetailPlacement]:
        """Reserve space at a retailer for the table's products."""
        table = self.table(table_id)
        known = self._table_reference(table, "retail_placement", external_ref)
        if isinstance(known, RetailPlacement):
            return Recorded(known, False, table.version)
        table.check_active()
        table.check_no_open_placement(retailer_id)
        try:
            retailer = self.partner(retailer_id)
        except PartnerNotFoundError:
            raise UnknownPartnerError(
                f"{retailer_id} is not a partner of the directory", "retailer_id"
            ) from None
        if retailer.kind != RETAILER:
            raise NotARetailerError(f"the partner {retailer.name!r} is not a retailer")
        placement = table.secure_placement(
            placement_id, retailer_id=retailer_id, started_on=started_on, note=note,
            external_ref=external_ref,
        )  # fmt: skip
        self._save(
            context, table, claims=reference_claims("retail_placement", external_ref, table_id)
        )
        return Recorded(placement, True, table.version)

    def end_placement(
        self,
        table_id: UUID,
        placement_id: UUID,
        *,
        ended_on: date,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> RetailPlacement:
        """End a placement."""
        table = self.table(table_id)
        check_version(table.version, expected_version)
        placement = table.end_placement(placement_id, ended_on)
        self.record(context, table)
        return placement

    def dissolve_table(
        self, table_id: UUID, *, dissolved_on: date, context: CommandContext | None = None
    ) -> SectorTable:
        """Dissolve the table."""
        table = self.table(table_id)
        table.dissolve(dissolved_on)
        self.record(context, table)
        return table

    # --- shared -------------------------------------------------------------------------

    def history(self, aggregate_id: UUID, kind: type[Any]) -> list[DomainEventProtocol[UUID]]:
        """Every recorded event of a partner, project or table, oldest first."""
        errors: dict[type[Any], type[Exception]] = {
            Partner: PartnerNotFoundError,
            ResearchProject: ProjectNotFoundError,
        }
        self._get(aggregate_id, kind, errors.get(kind, TableNotFoundError))
        return list(self.events.get(aggregate_id))

    def _get(self, aggregate_id: UUID, kind: type[Any], missing: type[Exception]) -> Any:
        found: Any
        try:
            found = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, kind):
            raise missing(f"no {kind.__name__} {aggregate_id}")
        return found

    def _check_reference(self, resource_type: str, external_ref: str | None) -> None:
        holder = holder_of(self.database, resource_type, external_ref)
        if holder is not None:
            raise KnownReference(holder)

    def _table_reference(
        self, table: SectorTable, resource_type: str, external_ref: str | None
    ) -> TableAction | RetailPlacement | None:
        holder = holder_of(self.database, resource_type, external_ref)
        if holder is None or external_ref is None:
            return None
        if holder != str(table.id):
            raise ExternalRefTakenError("this external_ref belongs to a record of another table")
        return table.by_reference(external_ref)

    def _check_partners(self, partner_ids: list[UUID]) -> None:
        for partner_id in partner_ids:
            try:
                self.partner(partner_id)
            except PartnerNotFoundError:
                raise UnknownPartnerError(
                    f"{partner_id} is not a partner of the directory"
                ) from None

    def _check_names_free(self, names: set[str], partner_id: UUID) -> None:
        for name in sorted(names):
            holder = self.database.claim_holder(name_claim(name))
            if holder is not None and holder != str(partner_id):
                raise PartnerNameTakenError(
                    f"another partner already goes by the name {name!r}", holder
                )

    def _save(
        self,
        context: CommandContext | None,
        aggregate: Any,
        *,
        claims: Claims = (),
        releases: Claims = (),
    ) -> None:
        """Record the aggregate's events with the claims they take and free."""
        context = (context or CommandContext(correlation_id=str(uuid4()))).claiming(
            claims, releases
        )
        try:
            self.record(context, aggregate)
        except EventStoreConflict:
            # A reference already held answers its record before any name is refused (§16.5).
            for key, owner in sorted(claims, key=lambda c: c[0].startswith(NAME_CLAIM)):
                holder = self.database.claim_holder(key)
                if holder in (None, owner):
                    continue
                if key.startswith(NAME_CLAIM):
                    raise PartnerNameTakenError(
                        "another partner already goes by one of these names", holder
                    ) from None
                raise KnownReference(holder) from None
            raise
