"""The sector list (contract §2, §16.14, §16.18): built-in sectors, definitions, renames."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4, uuid5

import pytest

from services.membership import views
from services.membership.application import BUILT_IN_SECTORS, Membership
from services.membership.contracts import to_integration
from services.membership.domain import (
    SECTOR_NAMESPACE,
    Cooperative,
    NeqTakenError,
    Sector,
    UnknownSectorError,
    sector_id,
)
from shared.persistence import Database
from shared.vocabulary import SECTOR_LABELS

LABEL = {"fr": "Imprimeries", "en": "Printers"}


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


def join(app: Membership, sector: str, neq: str | None = None) -> UUID:
    cooperative_id = uuid4()
    app.join(
        cooperative_id,
        name="Coop",
        region="06",
        sector=sector,
        worker_members=5,
        joined_on=date(2023, 1, 1),
        neq=neq,
    )
    return cooperative_id


def test_a_sector_id_is_the_uuid5_of_its_slug_under_the_fixed_namespace() -> None:
    sector = Sector(slug="imprimerie", label=LABEL)

    assert sector.id == uuid5(SECTOR_NAMESPACE, "imprimerie") == sector_id("imprimerie")


def test_a_rename_to_the_same_labels_records_nothing() -> None:
    sector = Sector(slug="imprimerie", label=LABEL)
    sector.collect_events()

    sector.relabel(dict(LABEL))
    assert sector.collect_events() == []
    sector.relabel({"fr": "Imprimerie", "en": "Printing"})
    assert [type(e).__name__ for e in sector.collect_events()] == ["Relabelled"]


def test_both_sector_events_are_published_as_sector_defined_with_the_slug() -> None:
    sector = Sector(slug="imprimerie", label=LABEL)
    sector.relabel({"fr": "Imprimerie", "en": "Printing"})
    defined, renamed = sector.collect_events()

    assert to_integration(defined) == ("SectorDefined", {"slug": "imprimerie", "label": LABEL})
    assert to_integration(renamed) == (
        "SectorDefined",
        {"slug": "imprimerie", "label": {"fr": "Imprimerie", "en": "Printing"}},
    )


def test_a_new_store_records_the_built_in_sectors_once(app: Membership) -> None:
    assert app.define_built_in_sectors() == 15
    assert app.define_built_in_sectors() == 0

    assert app.recorder.max_notification_id() == 15
    microbrasserie = app.sector("microbrasserie")
    assert microbrasserie is not None
    assert microbrasserie.label == {"fr": "Microbrasseries", "en": "Microbreweries"}
    assert len(BUILT_IN_SECTORS) == 15
    assert all(app.sector(slug) is not None for slug in SECTOR_LABELS["fr"])


def test_a_store_from_before_the_sector_list_gets_the_missing_built_ins_only(
    app: Membership,
) -> None:
    join(app, "microbrasserie")
    app.define_sector("design", {"fr": "Design graphique", "en": "Graphic design"})

    assert app.define_built_in_sectors() == 14

    design = app.sector("design")
    assert design is not None and design.label["fr"] == "Design graphique"


def test_defining_a_sector_adds_it_and_the_same_labels_again_record_nothing(
    app: Membership,
) -> None:
    _, changed = app.define_sector("imprimerie", LABEL)
    again, changed_again = app.define_sector("imprimerie", dict(LABEL))

    assert (changed, changed_again) == (True, False)
    assert again.label == LABEL
    assert app.recorder.max_notification_id() == 1
    assert app.is_listed("imprimerie")


def test_a_sector_off_the_list_is_refused_on_join_and_profile_change(app: Membership) -> None:
    with pytest.raises(UnknownSectorError):
        join(app, "imprimerie")
    cooperative_id = join(app, "microbrasserie")
    with pytest.raises(UnknownSectorError):
        app.update_profile(cooperative_id, {"sector": "imprimerie"})

    app.define_sector("imprimerie", LABEL)
    app.update_profile(cooperative_id, {"sector": "imprimerie"})
    assert app.cooperative(cooperative_id).sector == "imprimerie"


def test_a_taken_neq_is_refused_before_a_sector_off_the_list(app: Membership) -> None:
    join(app, "microbrasserie", neq="1170000000")

    with pytest.raises(NeqTakenError):
        join(app, "imprimerie", neq="1170000000")


def test_a_slug_stored_before_the_sector_list_stays_valid_for_its_cooperative(
    app: Membership,
) -> None:
    legacy = Cooperative(
        id=uuid4(),
        name="Ancienne",
        region="06",
        sector="boulangerie",
        worker_members=3,
        joined_on=date(2020, 1, 1),
        neq=None,
    )
    app.save(legacy)

    app.update_profile(legacy.id, {"name": "Nouvelle", "sector": "boulangerie"})

    changed = app.cooperative(legacy.id)
    assert (changed.name, changed.sector, changed.version) == ("Nouvelle", "boulangerie", 2)
    with pytest.raises(UnknownSectorError):
        app.update_profile(legacy.id, {"sector": "patisserie"})


def test_a_sector_id_is_not_a_cooperative(app: Membership) -> None:
    app.define_sector("imprimerie", LABEL)

    with pytest.raises(Exception, match="no cooperative"):
        app.cooperative(sector_id("imprimerie"))


def test_the_sector_list_lists_built_ins_first_then_later_definitions(app: Membership) -> None:
    app.define_built_in_sectors()
    app.define_sector("imprimerie", LABEL)
    app.define_sector("alimentation", {"fr": "Alimentation et épicerie", "en": "Food"})

    items, _ = views.SectorList(app).list(after=0, limit=100)

    assert [i["slug"] for i in items] == [*BUILT_IN_SECTORS, "imprimerie"]
    assert items[0] == {
        "slug": "alimentation",
        "label": {"fr": "Alimentation et épicerie", "en": "Food"},
    }
