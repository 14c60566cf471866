"""External references (contract §1, §16.5): a record's key in another system, unique per type.

A reference is a unique claim (`coop_unique_claims`) taken in the same transaction as the
events that create its record, so two concurrent creates with one reference record one
resource: the second save fails on the claim and the service answers with the first record.
References never expire and are never released (a record keeps its reference whatever its status).
"""

from __future__ import annotations

from shared.persistence import Database

CLAIM_PREFIX = "external_ref:"


class KnownReference(Exception):
    """A create names an `external_ref` a record already holds: that record answers (200).

    `holder` names the record: its id, or `<parent id>/<record id>` for a sub-record.
    """

    def __init__(self, holder: str) -> None:
        super().__init__(f"the record {holder} already has this external_ref")
        self.holder = holder


def claim_key(resource_type: str, external_ref: str) -> str:
    """The unique-claim key of a reference for a resource type (`cooperative`, `action`, …)."""
    return f"{CLAIM_PREFIX}{resource_type}:{external_ref}"


def reference_claims(
    resource_type: str, external_ref: str | None, record_id: object
) -> tuple[tuple[str, str], ...]:
    """The claims a create takes for its reference (none without one)."""
    if not external_ref:
        return ()
    return ((claim_key(resource_type, external_ref), str(record_id)),)


def holder_of(database: Database, resource_type: str, external_ref: str | None) -> str | None:
    """The id of the record that holds a reference, if one does."""
    if not external_ref:
        return None
    return database.claim_holder(claim_key(resource_type, external_ref))
