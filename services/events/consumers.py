"""What the events service consumes: `COOP_MEMBERSHIP`, into its own membership view."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from shared.consumer import StreamConsumer
from shared.contracts.membership import MEMBERSHIP
from shared.integration import Envelope
from shared.membership_view import MembershipView
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.persistence import Database

MEMBERSHIP_DURABLE = "events-membership"
MEMBERSHIP_DATES = ("joined_on", "left_on", "rejoined_on")


class CheckedMembershipView:
    """The membership view, fed only membership events whose dates are real dates.

    A message with a date the view could not read back (`"2024-13-45"`) fails here, and the
    consumer parks it, rather than entering the view and breaking every later membership
    check of its cooperative.
    """

    def __init__(self, view: MembershipView) -> None:
        self.view = view

    def prepare(self, envelope: Envelope) -> None:
        """Nothing to do outside the transaction."""

    def apply(self, conn: sa.Connection, envelope: Envelope) -> None:
        """Check the payload's dates, then move the view."""
        payload = MEMBERSHIP.payload(envelope)
        for field in MEMBERSHIP_DATES:
            value = getattr(payload, field, None)
            if value is not None:
                date.fromisoformat(value)
        self.view.apply(conn, envelope)


def membership_consumer(
    database: Database, messaging: Messaging, view: MembershipView, metrics: ServiceMetrics
) -> StreamConsumer:
    """The durable consumer that keeps the membership view from `COOP_MEMBERSHIP`, exactly once."""
    return StreamConsumer(
        database,
        messaging,
        MEMBERSHIP,
        CheckedMembershipView(view),
        metrics,
        durable=MEMBERSHIP_DURABLE,
    )
