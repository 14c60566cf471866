"""Membership use cases: join, change, leave, come back, corrections, and the sector list."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError as EventStoreConflict

from services.membership.domain import (
    Cooperative,
    CooperativeNotFoundError,
    NeqTakenError,
    Period,
    Sector,
    UnknownSectorError,
    sector_id,
)
from shared.application import CoopApplication, check_version
from shared.external_refs import KnownReference, holder_of, reference_claims
from shared.persistence import CommandContext
from shared.vocabulary import SECTOR_LABELS
from shared.vocabulary import Sector as BuiltInSector

BUILT_IN_SECTORS = tuple(sector.value for sector in BuiltInSector)
REFERENCE_TYPE = "cooperative"


class Membership(CoopApplication):
    """The membership service's application.

    The NEQ of an active member is a unique claim stored in the same transaction as the events
    that take or free it, so two commands (in any number of processes) can never both hold it;
    every command takes or frees it as the cooperative's status moves (a voided cooperative
    holds none). An `external_ref` is a claim too, never freed. The sector list is made of
    `Sector` aggregates in the same store.
    """

    name = "membership"

    def join(
        self,
        cooperative_id: UUID,
        *,
        name: str,
        region: str,
        sector: str,
        worker_members: int | None,
        joined_on: date,
        neq: str | None,
        external_ref: str | None = None,
        context: CommandContext | None = None,
    ) -> Cooperative:
        """A cooperative joins the network, in a sector of the list.

        A known `external_ref` raises `KnownReference` before anything else (nothing is
        recorded); then a taken NEQ (409) is refused before a sector off the list (422). The
        claims stored with the event refuse both again when a concurrent join took them.
        """
        holder = holder_of(self.database, REFERENCE_TYPE, external_ref)
        if holder is not None:
            raise KnownReference(holder)
        self._check_neq_free(neq, cooperative_id)
        self._check_sector_listed(sector)
        cooperative = Cooperative(
            id=cooperative_id,
            name=name,
            region=region,
            sector=sector,
            worker_members=worker_members,
            joined_on=joined_on,
            neq=neq,
            external_ref=external_ref,
        )
        claims = (
            *_neq_claims(neq, cooperative_id),
            *reference_claims(REFERENCE_TYPE, external_ref, cooperative_id),
        )
        self._save(context, cooperative, claims=claims)
        return cooperative

    def cooperative(self, cooperative_id: UUID) -> Cooperative:
        """The cooperative as recorded now."""
        cooperative: Any
        try:
            cooperative = self.repository.get(cooperative_id)
        except AggregateNotFoundError:
            cooperative = None
        if not isinstance(cooperative, Cooperative):
            raise CooperativeNotFoundError(f"no cooperative {cooperative_id}")
        return cooperative

    def update_profile(
        self,
        cooperative_id: UUID,
        proposed: dict[str, Any],
        *,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Cooperative:
        """Change some profile fields; a NEQ must stay unique among active members."""
        cooperative = self.cooperative(cooperative_id)
        check_version(cooperative.version, expected_version)
        cooperative.check_not_voided()
        changes = cooperative.profile_changes(proposed)
        held = self._held_claims(cooperative)
        if "neq" in changes and cooperative.is_active:
            self._check_neq_free(changes["neq"], cooperative_id)
        if "sector" in changes:
            self._check_sector_listed(changes["sector"])
        cooperative.update_profile(changes)
        self._save_with_claims(context, cooperative, held)
        return cooperative

    def leave(
        self,
        cooperative_id: UUID,
        *,
        left_on: date,
        reason: str | None,
        context: CommandContext | None = None,
    ) -> Cooperative:
        """A cooperative leaves the network."""
        cooperative = self.cooperative(cooperative_id)
        held = self._held_claims(cooperative)
        cooperative.leave(left_on, reason)
        self._save_with_claims(context, cooperative, held)
        return cooperative

    def rejoin(
        self, cooperative_id: UUID, *, rejoined_on: date, context: CommandContext | None = None
    ) -> Cooperative:
        """A cooperative that left comes back; a taken NEQ is refused before a bad date."""
        cooperative = self.cooperative(cooperative_id)
        cooperative.check_not_voided()
        held = self._held_claims(cooperative)
        if not cooperative.is_active:
            self._check_neq_free(cooperative.neq, cooperative_id)
        cooperative.rejoin(rejoined_on)
        self._save_with_claims(context, cooperative, held)
        return cooperative

    def correct_membership(
        self,
        cooperative_id: UUID,
        *,
        periods: list[Period],
        reason: str | None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> tuple[Cooperative, bool]:
        """Replace a cooperative's periods; the NEQ claim follows the resulting status.

        Refusals in the contract's order (§16.3): a stale version, a NEQ another active
        cooperative holds when the result is active, then the rules over the list. Answers
        the cooperative and whether anything was recorded (a correction may change nothing).
        """
        cooperative = self.cooperative(cooperative_id)
        check_version(cooperative.version, expected_version)
        cooperative.check_not_voided()
        held = self._held_claims(cooperative)
        if periods and periods[-1].end is None and not held:
            self._check_neq_free(cooperative.neq, cooperative_id)
        cooperative.correct_membership(periods, reason)
        if not cooperative.pending_events:
            return cooperative, False
        self._save_with_claims(context, cooperative, held)
        return cooperative, True

    def void(
        self,
        cooperative_id: UUID,
        *,
        reason: str,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Cooperative:
        """Void a cooperative recorded by mistake; its NEQ claim is freed."""
        cooperative = self.cooperative(cooperative_id)
        check_version(cooperative.version, expected_version)
        held = self._held_claims(cooperative)
        cooperative.void(reason)
        self._save_with_claims(context, cooperative, held)
        return cooperative

    def restore(
        self,
        cooperative_id: UUID,
        *,
        reason: str | None,
        expected_version: int | None = None,
        context: CommandContext | None = None,
    ) -> Cooperative:
        """Undo a void; an active result takes its NEQ claim again (409 when another holds it)."""
        cooperative = self.cooperative(cooperative_id)
        check_version(cooperative.version, expected_version)
        cooperative.check_can_restore()
        if cooperative.is_active:
            self._check_neq_free(cooperative.neq, cooperative_id)
        cooperative.restore(reason)
        self._save_with_claims(context, cooperative, ())
        return cooperative

    def history(self, cooperative_id: UUID) -> list[DomainEventProtocol[UUID]]:
        """Every recorded event of the cooperative, oldest first."""
        self.cooperative(cooperative_id)
        return list(self.events.get(cooperative_id))

    def sector(self, slug: str) -> Sector | None:
        """The sector of the list with this slug, if there is one."""
        sector: Any
        try:
            sector = self.repository.get(sector_id(slug))
        except AggregateNotFoundError:
            return None
        return sector if isinstance(sector, Sector) else None

    def is_listed(self, slug: str) -> bool:
        """True for a slug of the sector list (the built-in slugs always are)."""
        return slug in BUILT_IN_SECTORS or self.sector(slug) is not None

    def define_sector(
        self, slug: str, label: dict[str, str], *, context: CommandContext | None = None
    ) -> tuple[Sector, bool]:
        """Add a sector to the list or rename one; answers it and whether anything changed."""
        for _attempt in range(5):
            sector = self.sector(slug)
            if sector is None:
                sector = Sector(slug=slug, label=label)
            else:
                sector.relabel(label)
            if not sector.pending_events:
                return sector, False
            try:
                self.record(context or CommandContext(correlation_id=str(uuid4())), sector)
            except EventStoreConflict:
                continue  # a concurrent definition of the same slug: look again
            return sector, True
        raise EventStoreConflict(f"the sector {slug} kept changing concurrently")

    def define_built_in_sectors(self) -> int:
        """Record the built-in sectors missing from the store (all of them when it is new).

        Run at start: a new store, or one from before the sector list, gets each built-in
        slug once as a `Defined` event; a sector renamed since is left as it is.
        """
        for _attempt in range(5):
            missing = [
                Sector(slug=slug, label={lang: SECTOR_LABELS[lang][slug] for lang in ("fr", "en")})
                for slug in BUILT_IN_SECTORS
                if self.sector(slug) is None
            ]
            if not missing:
                return 0
            try:
                self.record(CommandContext(correlation_id=str(uuid4())), *missing)
            except EventStoreConflict:
                continue  # another process of the service recorded them first
            return len(missing)
        return 0

    def _check_sector_listed(self, slug: str) -> None:
        if not self.is_listed(slug):
            raise UnknownSectorError(f"{slug!r} is not on the sector list (GET /v1/sectors)")

    def _held_claims(self, cooperative: Cooperative) -> tuple[tuple[str, str], ...]:
        """The NEQ claim a cooperative holds: while it is active (and not voided)."""
        held = cooperative.is_active and not cooperative.voided
        return _neq_claims(cooperative.neq, cooperative.id) if held else ()

    def _save_with_claims(
        self,
        context: CommandContext | None,
        cooperative: Cooperative,
        held_before: tuple[tuple[str, str], ...],
    ) -> None:
        """Save a change, taking or freeing the NEQ claim as the cooperative's status moved."""
        held_after = self._held_claims(cooperative)
        claims = tuple(c for c in held_after if c not in held_before)
        releases = tuple(c for c in held_before if c not in held_after)
        self._save(context, cooperative, claims=claims, releases=releases)

    def _check_neq_free(self, neq: str | None, cooperative_id: UUID) -> None:
        for key, owner in _neq_claims(neq, cooperative_id):
            holder = self.database.claim_holder(key)
            if holder is not None and holder != owner:
                raise NeqTakenError(f"an active cooperative already has the NEQ {neq}")

    def _save(
        self,
        context: CommandContext | None,
        cooperative: Cooperative,
        *,
        claims: tuple[tuple[str, str], ...] = (),
        releases: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Record the cooperative's events with the NEQ claims they take and free."""
        context = (context or CommandContext(correlation_id=str(uuid4()))).claiming(
            claims, releases
        )
        try:
            self.record(context, cooperative)
        except EventStoreConflict:
            reference = getattr(cooperative, "external_ref", None)
            holder = holder_of(self.database, REFERENCE_TYPE, reference)
            if holder is not None and holder != str(cooperative.id):
                raise KnownReference(holder) from None
            for key, owner in claims:
                if key.startswith("neq:") and self.database.claim_holder(key) not in (None, owner):
                    neq = key.removeprefix("neq:")
                    raise NeqTakenError(
                        f"an active cooperative already has the NEQ {neq}"
                    ) from None
            raise


def _neq_claims(neq: str | None, cooperative_id: UUID) -> tuple[tuple[str, str], ...]:
    return ((f"neq:{neq}", str(cooperative_id)),) if neq else ()
