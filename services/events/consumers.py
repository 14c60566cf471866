"""What the events service consumes: `COOP_MEMBERSHIP`, into its own membership view."""

from __future__ import annotations

from shared.consumer import StreamConsumer
from shared.contracts.membership import MEMBERSHIP
from shared.membership_view import MembershipView
from shared.messaging import Messaging
from shared.metrics import ServiceMetrics
from shared.persistence import Database

MEMBERSHIP_DURABLE = "events-membership"


def membership_consumer(
    database: Database, messaging: Messaging, view: MembershipView, metrics: ServiceMetrics
) -> StreamConsumer:
    """The durable consumer that keeps the membership view from `COOP_MEMBERSHIP`, exactly once.

    The view applies each batch with a few statements, and refuses a date it could not read
    back (`"2024-13-45"`): the consumer then parks that message alone.
    """
    return StreamConsumer(
        database, messaging, MEMBERSHIP, view, metrics, durable=MEMBERSHIP_DURABLE
    )
