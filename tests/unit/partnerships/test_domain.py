"""The partnerships domain's rules (contract §12), on the aggregates alone."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from services.partnerships import domain
from services.partnerships.domain import Partner, ResearchProject, SectorTable, partner_names


def test_aliases_are_deduplicated_once_normalized_and_the_name_itself_is_dropped() -> None:
    kept, names = partner_names(
        "Pôle d’économie sociale", ["pôle d'économie  sociale", "PÉS", "pés ", "Pôle – BSL"]
    )
    assert kept == ["PÉS", "Pôle – BSL"]
    assert names == {"pôle d'économie sociale", "pés", "pôle - bsl"}


def test_a_partner_is_deactivated_and_reactivated_once_each() -> None:
    partner = Partner(
        id=uuid4(), name="CQCM", kind="reseau_cooperatif", region=None, aliases=[],
        website=None, external_ref=None,
    )  # fmt: skip
    partner.deactivate()
    assert partner.status == "inactive"
    with pytest.raises(domain.PartnerStatusError):
        partner.deactivate()
    partner.reactivate()
    with pytest.raises(domain.PartnerStatusError):
        partner.reactivate()


def test_a_partner_change_that_changes_nothing_has_no_changes() -> None:
    partner = Partner(
        id=uuid4(), name="UQAM", kind="recherche", region="06", aliases=["Université"],
        website=None, external_ref=None,
    )  # fmt: skip
    assert partner.changes({"name": "UQAM", "aliases": ["Université", "université"]}) == {}
    assert partner.changes({"region": "03"}) == {"region": "03"}


def test_a_project_completes_once_and_not_before_it_started() -> None:
    project = ResearchProject(
        id=uuid4(), title="Reprises collectives", theme=None, partner_ids=[uuid4()],
        started_on=date(2023, 2, 1), external_ref=None,
    )  # fmt: skip
    with pytest.raises(domain.ProjectDateError):
        project.complete(date(2023, 1, 1))
    project.complete(date(2024, 6, 30))
    assert project.status == "completed"
    with pytest.raises(domain.ProjectCompletedError):
        project.complete(date(2024, 7, 1))


def table() -> SectorTable:
    return SectorTable(
        id=uuid4(), name="Microbrasseries", sector="microbrasserie",
        formed_on=date(2022, 11, 1), external_ref=None,
    )  # fmt: skip


def test_a_retailer_has_one_open_placement_with_a_table_at_a_time() -> None:
    microbrasseries, retailer = table(), uuid4()
    first = microbrasseries.secure_placement(
        uuid4(), retailer_id=retailer, started_on=date(2023, 10, 1), note=None, external_ref=None
    )
    with pytest.raises(domain.PlacementOpenError):
        microbrasseries.secure_placement(
            uuid4(), retailer_id=retailer, started_on=date(2023, 11, 1), note=None,
            external_ref=None,
        )  # fmt: skip
    with pytest.raises(domain.TableDateError):
        microbrasseries.end_placement(first.id, date(2023, 9, 1))
    microbrasseries.end_placement(first.id, date(2024, 1, 31))
    with pytest.raises(domain.PlacementEndedError):
        microbrasseries.end_placement(first.id, date(2024, 2, 1))
    microbrasseries.secure_placement(
        uuid4(), retailer_id=retailer, started_on=date(2024, 3, 1), note=None, external_ref=None
    )


def test_a_table_with_an_open_placement_is_not_dissolved_and_a_dissolved_one_takes_nothing() -> (
    None
):
    microbrasseries = table()
    placement = microbrasseries.secure_placement(
        uuid4(), retailer_id=uuid4(), started_on=date(2023, 10, 1), note=None, external_ref=None
    )
    with pytest.raises(domain.PlacementOpenError):
        microbrasseries.dissolve(date(2024, 6, 1))
    microbrasseries.end_placement(placement.id, date(2024, 5, 1))
    microbrasseries.dissolve(date(2024, 6, 1))
    assert microbrasseries.status == "dissolved"
    with pytest.raises(domain.TableDissolvedError):
        microbrasseries.add_member(uuid4(), date(2024, 7, 1))
    with pytest.raises(domain.TableDissolvedError):
        microbrasseries.log_action(
            uuid4(), kind="visibilite", title="Salon", performed_on=date(2024, 7, 1),
            partner_ids=[], external_ref=None,
        )  # fmt: skip


def test_a_withdrawn_action_is_withdrawn_once() -> None:
    microbrasseries = table()
    action = microbrasseries.log_action(
        uuid4(), kind="visibilite", title="Présentoir", performed_on=date(2023, 10, 5),
        partner_ids=[], external_ref="act-1",
    )  # fmt: skip
    assert microbrasseries.by_reference("act-1") == action
    microbrasseries.withdraw_action(action.id, "doublon")
    with pytest.raises(domain.AlreadyWithdrawnError):
        microbrasseries.withdraw_action(action.id, None)


def test_a_member_leaves_after_joining_and_only_once() -> None:
    microbrasseries, cooperative = table(), uuid4()
    microbrasseries.add_member(cooperative, date(2023, 9, 1))
    with pytest.raises(domain.TableDateError):
        microbrasseries.remove_member(cooperative, date(2023, 9, 1))
    microbrasseries.remove_member(cooperative, date(2024, 1, 1))
    with pytest.raises(domain.AlreadyWithdrawnError):
        microbrasseries.remove_member(cooperative, date(2024, 2, 1))
    with pytest.raises(domain.TableMemberNotFoundError):
        microbrasseries.remove_member(uuid4(), date(2024, 2, 1))
    with pytest.raises(domain.TableDateError):
        microbrasseries.add_member(cooperative, date(2023, 12, 1))
    microbrasseries.add_member(cooperative, date(2024, 1, 1))
    assert [(p.joined_on, p.left_on) for p in microbrasseries.periods] == [
        (date(2023, 9, 1), date(2024, 1, 1)),
        (date(2024, 1, 1), None),
    ]
