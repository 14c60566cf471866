"""Member cooperatives, their membership periods and corrections; the sector list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

PROFILE_FIELDS = ("name", "region", "sector", "worker_members", "neq")

SECTOR_NAMESPACE = UUID("8d3c1f0e-5a7b-4c2d-9e61-0f4b2a7c9d15")
"""The fixed namespace of sector ids: a sector's id is `uuid5(SECTOR_NAMESPACE, slug)` (§16.18)."""


@dataclass(frozen=True)
class Period:
    """A membership period: from `start` up to, not including, `end` (open while None)."""

    start: date
    end: date | None = None

    def contains(self, day: date) -> bool:
        """True when the cooperative is a member on `day` within this period."""
        return self.start <= day and (self.end is None or day < self.end)


class Cooperative(Aggregate):
    """A worker cooperative that is, or was, a member of the network."""

    @event("Joined")
    def __init__(
        self,
        id: UUID,
        name: str,
        region: str,
        sector: str,
        worker_members: int | None,
        joined_on: date,
        neq: str | None,
        external_ref: str | None = None,
    ) -> None:
        self.name = name
        self.region = region
        self.sector = sector
        self.worker_members = worker_members
        self.neq = neq
        self.external_ref = external_ref
        self.periods: list[Period] = [Period(joined_on)]
        self.voided = False

    @property
    def is_active(self) -> bool:
        """True while the last membership period is open."""
        return self.periods[-1].end is None

    @property
    def status(self) -> str:
        """`voided` once voided, else `active` while the last period is open, else `left`."""
        if self.voided:
            return "voided"
        return "active" if self.is_active else "left"

    @property
    def joined_on(self) -> date:
        """The first period's start."""
        return self.periods[0].start

    @property
    def left_on(self) -> date | None:
        """The last period's end."""
        return self.periods[-1].end

    def is_active_on(self, day: date) -> bool:
        """True when one of the periods contains `day`."""
        return any(period.contains(day) for period in self.periods)

    def profile_changes(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """The proposed profile fields whose value differs from the current one."""
        return {k: v for k, v in proposed.items() if k in PROFILE_FIELDS and getattr(self, k) != v}

    def update_profile(self, proposed: dict[str, Any]) -> None:
        """Record the changed profile fields (nothing when nothing changes)."""
        self.check_not_voided()
        changes = self.profile_changes(proposed)
        if changes:
            self._update_profile(changes)

    @event("ProfileUpdated")
    def _update_profile(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    def leave(self, left_on: date, reason: str | None) -> None:
        """End the current membership period on `left_on`."""
        self.check_can_leave(left_on)
        self._leave(left_on, reason)

    def check_can_leave(self, left_on: date) -> None:
        """A cooperative leaves once per period, after that period's start."""
        self.check_not_voided()
        if not self.is_active:
            raise AlreadyLeftError("the cooperative has already left the network")
        if left_on <= self.periods[-1].start:
            raise DepartureDateError(
                f"left_on must be after the current period's start ({self.periods[-1].start})"
            )

    @event("Left")
    def _leave(self, left_on: date, reason: str | None) -> None:
        self.periods[-1] = Period(self.periods[-1].start, left_on)

    def rejoin(self, rejoined_on: date) -> None:
        """Open a new membership period on `rejoined_on`."""
        self.check_can_rejoin(rejoined_on)
        self._rejoin(rejoined_on)

    def check_can_rejoin(self, rejoined_on: date) -> None:
        """Only a cooperative that left can rejoin, not before the day it left."""
        self.check_not_voided()
        if self.is_active:
            raise AlreadyMemberError("the cooperative is an active member")
        assert self.left_on is not None
        if rejoined_on < self.left_on:
            raise ReadmissionDateError(f"rejoined_on must not be before left_on ({self.left_on})")

    @event("Rejoined")
    def _rejoin(self, rejoined_on: date) -> None:
        self.periods.append(Period(rejoined_on))

    def correct_membership(self, periods: Sequence[Period], reason: str | None) -> None:
        """Replace the membership periods with a corrected list (nothing when it is the same)."""
        self.check_not_voided()
        check_periods(periods)
        if list(periods) == self.periods:
            return
        self._correct_membership([{"start": p.start, "end": p.end} for p in periods], reason)

    @event("MembershipCorrected")
    def _correct_membership(self, periods: list[dict[str, Any]], reason: str | None) -> None:
        self.periods = [Period(p["start"], p["end"]) for p in periods]

    def check_not_voided(self) -> None:
        """A voided cooperative takes no change but its restoration."""
        if self.voided:
            raise CooperativeVoidedError("the cooperative is voided; restore it first")

    def void(self, reason: str) -> None:
        """The record was a mistake (a duplicate, never a member): it counts nowhere."""
        if self.voided:
            raise AlreadyVoidedError("the cooperative is already voided")
        self._void(reason)

    @event("Voided")
    def _void(self, reason: str) -> None:
        self.voided = True

    def restore(self, reason: str | None) -> None:
        """Undo a void: the cooperative counts again on its periods."""
        self.check_can_restore()
        self._restore(reason)

    def check_can_restore(self) -> None:
        """Only a voided cooperative can be restored."""
        if not self.voided:
            raise NotVoidedError("the cooperative is not voided")

    @event("Restored")
    def _restore(self, reason: str | None) -> None:
        self.voided = False


def sector_id(slug: str) -> UUID:
    """The id of a sector of the list: the UUID5 of its slug under `SECTOR_NAMESPACE`."""
    return uuid5(SECTOR_NAMESPACE, slug)


class Sector(Aggregate):
    """A sector of the network's list: a slug that never changes, labelled in French and English."""

    @staticmethod
    def create_id(slug: str) -> UUID:  # type: ignore[override]
        """A sector's id follows from its slug."""
        return sector_id(slug)

    @event("Defined")
    def __init__(self, slug: str, label: dict[str, str]) -> None:
        self.slug = slug
        self.label = dict(label)

    def relabel(self, label: dict[str, str]) -> None:
        """Rename the sector (nothing when the labels are the same)."""
        if dict(label) != self.label:
            self._relabel(self.slug, dict(label))

    @event("Relabelled")
    def _relabel(self, slug: str, label: dict[str, str]) -> None:
        self.label = label


def check_periods(periods: Sequence[Period]) -> None:
    """A corrected list is not empty, in date order, without overlaps, open only at its end."""
    errors = period_errors(periods)
    if errors:
        raise PeriodsError("; ".join(f"{field}: {message}" for field, message in errors), errors)


def period_errors(periods: Sequence[Period]) -> list[tuple[str, str]]:
    """Each rule a list of periods breaks, as (field, message), the offending period named."""
    if not periods:
        return [("periods", "at least one membership period is needed")]
    errors: list[tuple[str, str]] = []
    last = len(periods) - 1
    for index, period in enumerate(periods):
        if period.end is not None and period.end <= period.start:
            errors.append((f"periods[{index}].end", "a period must start before it ends"))
        if period.end is None and index < last:
            errors.append((f"periods[{index}].end", "only the last period may have no end"))
        if index == 0:
            continue
        previous = periods[index - 1]
        if period.start < previous.start:
            errors.append((f"periods[{index}].start", "periods must be in date order"))
        elif previous.end is not None and period.start < previous.end:
            errors.append((f"periods[{index}].start", "the period overlaps the previous one"))
    return errors


class MembershipError(Exception):
    """Base of the membership service's refusals; `errors` names the fields at fault."""

    def __init__(self, message: str, errors: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


class CooperativeNotFoundError(MembershipError):
    """No cooperative has this id."""


class AlreadyLeftError(MembershipError):
    """The cooperative has already left."""


class AlreadyMemberError(MembershipError):
    """The cooperative is already an active member."""


class DepartureDateError(MembershipError):
    """The departure date is not after the current period's start."""


class ReadmissionDateError(MembershipError):
    """The readmission date is before the departure."""


class NeqTakenError(MembershipError):
    """Another active cooperative has this Québec enterprise number."""


class PeriodsError(MembershipError):
    """A corrected list of membership periods breaks a rule."""


class CooperativeVoidedError(MembershipError):
    """The cooperative is voided: it takes no change but its restoration."""


class AlreadyVoidedError(MembershipError):
    """The cooperative is already voided."""


class NotVoidedError(MembershipError):
    """Only a voided cooperative can be restored."""


class UnknownSectorError(MembershipError):
    """The sector is not on the sector list."""
