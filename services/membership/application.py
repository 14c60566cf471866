"""Membership use cases: join, change, leave, come back."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import DomainEventProtocol

from services.membership.domain import Cooperative, CooperativeNotFoundError, NeqTakenError
from shared.application import CoopApplication, check_version
from shared.persistence import CommandContext, Database


class Directory(Protocol):
    """Which active cooperative holds a Québec enterprise number."""

    def active_holder_of_neq(self, neq: str) -> UUID | None:
        """The id of the active cooperative with this NEQ, if any."""


class Membership(CoopApplication):
    """The membership service's application."""

    name = "membership"

    def __init__(self, database: Database, env: dict[str, str] | None = None) -> None:
        super().__init__(database, env)
        self.directory: Directory | None = None
        self._neq_lock = threading.Lock()

    def join(
        self,
        cooperative_id: UUID,
        *,
        name: str,
        region: str,
        sector: str,
        worker_members: int,
        joined_on: date,
        neq: str | None,
        context: CommandContext | None = None,
    ) -> Cooperative:
        """A cooperative joins the network."""
        with self._neq_lock:
            self._check_neq_free(neq, cooperative_id)
            cooperative = Cooperative(
                id=cooperative_id,
                name=name,
                region=region,
                sector=sector,
                worker_members=worker_members,
                joined_on=joined_on,
                neq=neq,
            )
            self.record(context, cooperative)
        return cooperative

    def cooperative(self, cooperative_id: UUID) -> Cooperative:
        """The cooperative as recorded now."""
        try:
            cooperative: Cooperative = self.repository.get(cooperative_id)
        except AggregateNotFoundError:
            raise CooperativeNotFoundError(f"no cooperative {cooperative_id}") from None
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
        with self._neq_lock:
            cooperative = self.cooperative(cooperative_id)
            check_version(cooperative.version, expected_version)
            changes = cooperative.profile_changes(proposed)
            if changes.get("neq") and cooperative.is_active:
                self._check_neq_free(changes["neq"], cooperative_id)
            cooperative.update_profile(changes)
            self.record(context, cooperative)
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
        cooperative.leave(left_on, reason)
        self.record(context, cooperative)
        return cooperative

    def rejoin(
        self, cooperative_id: UUID, *, rejoined_on: date, context: CommandContext | None = None
    ) -> Cooperative:
        """A cooperative that left comes back; a taken NEQ is refused before a bad date."""
        with self._neq_lock:
            cooperative = self.cooperative(cooperative_id)
            if not cooperative.is_active:
                self._check_neq_free(cooperative.neq, cooperative_id)
            cooperative.rejoin(rejoined_on)
            self.record(context, cooperative)
        return cooperative

    def history(self, cooperative_id: UUID) -> list[DomainEventProtocol[UUID]]:
        """Every recorded event of the cooperative, oldest first."""
        self.cooperative(cooperative_id)
        return list(self.events.get(cooperative_id))

    def _check_neq_free(self, neq: str | None, cooperative_id: UUID) -> None:
        if neq is None or self.directory is None:
            return
        holder = self.directory.active_holder_of_neq(neq)
        if holder is not None and holder != cooperative_id:
            raise NeqTakenError(f"an active cooperative already has the NEQ {neq}")
