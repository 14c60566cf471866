"""`COOP_MEMBERSHIP`: what the membership service publishes."""

from __future__ import annotations

from typing import Any

from shared.integration import Payload, StreamContract

MEMBERSHIP = StreamContract(stream="COOP_MEMBERSHIP", service="membership")


@MEMBERSHIP.event
class CoopJoined(Payload):
    """A cooperative became a member."""

    cooperative_id: str
    name: str
    region: str
    sector: str
    worker_members: int | None = None
    joined_on: str
    neq: str | None = None


@MEMBERSHIP.event
class CoopProfileUpdated(Payload):
    """Some of a cooperative's profile fields changed (only those are in `changes`)."""

    cooperative_id: str
    changes: dict[str, Any]


@MEMBERSHIP.event
class CoopLeft(Payload):
    """A cooperative left the network; `left_on` is its first day as a non-member."""

    cooperative_id: str
    left_on: str
    reason: str | None = None


@MEMBERSHIP.event
class CoopRejoined(Payload):
    """A cooperative that had left became a member again."""

    cooperative_id: str
    rejoined_on: str


class PeriodData(Payload):
    """A membership period: `end` is the first day no longer a member (null while open)."""

    start: str
    end: str | None = None


@MEMBERSHIP.event
class CoopMembershipCorrected(Payload):
    """A cooperative's membership periods were corrected: `periods` is the whole new list."""

    cooperative_id: str
    periods: list[PeriodData]
    reason: str | None = None


@MEMBERSHIP.event
class CoopVoided(Payload):
    """A cooperative was recorded by mistake: it is a member on no date and counts nowhere."""

    cooperative_id: str
    reason: str


@MEMBERSHIP.event
class CoopRestored(Payload):
    """A void was undone: the cooperative counts again on its periods."""

    cooperative_id: str
    reason: str | None = None


class SectorLabel(Payload):
    """A sector's label in French and in English."""

    fr: str
    en: str


@MEMBERSHIP.event
class SectorDefined(Payload):
    """A sector was added to the sector list, or renamed (its slug never changes).

    The envelope's `aggregate_id` is the UUID5 of the slug under the membership service's
    sector namespace `8d3c1f0e-5a7b-4c2d-9e61-0f4b2a7c9d15` (§16.18).
    """

    slug: str
    label: SectorLabel
