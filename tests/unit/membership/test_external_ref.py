"""External references of cooperatives (contract §1, §16.5) and an unknown `worker_members`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.membership import views
from services.membership.application import Membership
from shared.external_refs import KnownReference
from shared.persistence import Database


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Membership]:
    database = Database(f"sqlite:///{tmp_path / 'membership.sqlite3'}", app_name="membership")
    database.create_tables(views.metadata)
    membership = Membership(database)
    try:
        yield membership
    finally:
        membership.close()
        database.dispose()


def join(app: Membership, **overrides: Any) -> UUID:
    cooperative_id = uuid4()
    fields: dict[str, Any] = {
        "name": "Coop",
        "region": "06",
        "sector": "microbrasserie",
        "worker_members": 5,
        "joined_on": date(2023, 1, 1),
        "neq": None,
        **overrides,
    }
    app.join(cooperative_id, **fields)
    return cooperative_id


def test_a_cooperative_keeps_its_external_ref(app: Membership) -> None:
    cooperative_id = join(app, external_ref="crm-1")

    assert app.cooperative(cooperative_id).external_ref == "crm-1"
    assert views.represent(app.cooperative(cooperative_id))["external_ref"] == "crm-1"


def test_a_known_external_ref_names_its_holder_and_records_nothing(app: Membership) -> None:
    holder = join(app, external_ref="crm-1")

    with pytest.raises(KnownReference) as known:
        join(app, external_ref="crm-1", name="Autre")

    assert known.value.holder == str(holder)
    assert app.recorder.max_notification_id() == 1


def test_a_known_external_ref_is_answered_before_a_taken_neq_or_a_sector_off_the_list(
    app: Membership,
) -> None:
    holder = join(app, external_ref="crm-1", neq="1170000000")

    with pytest.raises(KnownReference) as known:
        join(app, external_ref="crm-1", neq="1170000000", sector="hors-liste")

    assert known.value.holder == str(holder)


def test_a_voided_cooperative_keeps_its_external_ref(app: Membership) -> None:
    holder = join(app, external_ref="crm-1")
    app.void(holder, reason="doublon")

    with pytest.raises(KnownReference):
        join(app, external_ref="crm-1")


def test_without_external_ref_two_joins_never_conflict(app: Membership) -> None:
    first, second = join(app), join(app)

    assert app.cooperative(first).external_ref is None
    assert app.cooperative(second).external_ref is None


def test_worker_members_may_be_unknown_and_cleared(app: Membership) -> None:
    unknown = join(app, worker_members=None)
    known = join(app, worker_members=7)

    app.update_profile(known, {"worker_members": None})

    assert app.cooperative(unknown).worker_members is None
    assert app.cooperative(known).worker_members is None
    assert app.cooperative(known).version == 2
