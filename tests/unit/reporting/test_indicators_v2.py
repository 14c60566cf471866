"""The v2 rules of the reporting model, on small hand-made histories: corrections, voids and
withdrawals (§5 v2, §10), the partnerships indicators (§12), figures as recorded (§11, §16.8),
the BI views over them and the upgrade of a model written by the previous release."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from services.reporting.facts import (
    bi_view_names,
    create_schema,
    parse_recorded_at,
    recorded_at_text,
    sector_labels,
)
from services.reporting.indicators import NOT_IN_DIRECTORY, PARTNER_KINDS, compute_indicators
from services.reporting.projection import apply_events
from services.reporting.read_model import ReadModel
from shared.consumer import consumed_versions
from shared.persistence import Database, tracking_table
from tests.unit.reporting.test_indicators import YEAR, History, indicators, project

S = YEAR.start  # 2023-09-01
E = YEAR.end  # 2024-08-31


class History2(History):
    """History with the v2 events, each recorded at the instant ``self.now`` then advancing."""

    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2024, 1, 5, 10, 0, tzinfo=UTC)

    def event(self, event_type: str, aggregate_id: str, data: dict[str, Any]) -> dict[str, Any]:
        envelope = super().event(event_type, aggregate_id, data)
        envelope["occurred_at"] = self.now.isoformat()
        self.now += timedelta(seconds=1)
        return envelope

    def correct_periods(self, coop: str, *periods: tuple[date, date | None]) -> None:
        listed = [{"start": s.isoformat(), "end": e and e.isoformat()} for s, e in periods]
        self.event(
            "CoopMembershipCorrected",
            coop,
            {"cooperative_id": coop, "periods": listed, "reason": None},
        )

    def void(self, coop: str) -> None:
        self.event("CoopVoided", coop, {"cooperative_id": coop, "reason": "Doublon"})

    def restore(self, coop: str) -> None:
        self.event("CoopRestored", coop, {"cooperative_id": coop, "reason": None})

    def revise(self, activity: str, **changes: Any) -> None:
        self.event("ActivityRevised", activity, {"activity_id": activity, "changes": changes})

    def correct_attendance(self, activity: str, coop: str, participants: int) -> None:
        data = {"activity_id": activity, "cooperative_id": coop, "participants": participants}
        self.event("AttendanceCorrected", activity, {**data, "reason": None})

    def withdraw_attendance(self, activity: str, coop: str) -> None:
        data = {"activity_id": activity, "cooperative_id": coop, "reason": None}
        self.event("AttendanceWithdrawn", activity, data)

    def partner(self, name: str, kind: str, aliases: list[str] | None = None) -> str:
        partner = str(uuid.uuid4())
        data = {
            "partner_id": partner,
            "name": name,
            "kind": kind,
            "region": None,
            "aliases": aliases or [],
            "website": None,
        }
        self.event("PartnerRegistered", partner, data)
        return partner

    def table(self, formed_on: date) -> str:
        table = str(uuid.uuid4())
        data = {"name": "Table", "sector": "microbrasserie", "formed_on": formed_on.isoformat()}
        self.event("SectorTableFormed", table, {"table_id": table, **data})
        return table

    def on_table(self, table: str, event_type: str, **data: Any) -> None:
        written = {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}
        self.event(event_type, table, {"table_id": table, **written})


def figures(engine: sa.Engine, history: History | None, **kwargs: Any) -> dict[str, Any]:
    return indicators(engine, history, **kwargs)


# --- corrections, voids and withdrawals -------------------------------------------------------


def test_a_voided_cooperative_its_attendance_ambassadors_and_actions_count_nowhere(
    engine: sa.Engine,
) -> None:
    history = History2()
    kept = history.join(S)
    voided = history.join(S + timedelta(days=3), worker_members=7)
    activity = history.schedule(S + timedelta(days=10), "cine_discussion")
    history.attend(activity, kept, 2)
    history.attend(activity, voided, 5)
    ambassador = history.enroll(voided, S + timedelta(days=4))
    history.act(ambassador, S + timedelta(days=10), 30)
    history.void(voided)

    result = figures(engine, history)

    assert result["members.total"] == 1
    assert result["members.joined"] == 1
    assert result["members.worker_members"] == 5
    assert result["attendance.member_attendances"] == 1
    assert result["attendance.participants"] == 2
    assert result["participation.participating_members"] == 1
    assert result["ambassadors.active"] == 0
    assert result["ambassadors.actions"] == 0
    assert result["ambassadors.people_reached"] == 0


def test_a_restored_cooperative_counts_again_on_its_periods(engine: sa.Engine) -> None:
    history = History2()
    coop = history.join(S)
    activity = history.schedule(S + timedelta(days=10))
    history.attend(activity, coop, 4)
    history.void(coop)
    history.restore(coop)

    result = figures(engine, history)

    assert result["members.total"] == 1
    assert result["attendance.participants"] == 4
    assert result["participation.rate"] == 1.0


def test_joins_and_departures_are_counted_on_the_corrected_periods(engine: sa.Engine) -> None:
    history = History2()
    coop = history.join(date(2023, 10, 15))
    history.leave(coop, date(2023, 12, 1))
    history.rejoin(coop, date(2024, 2, 1))
    # It had never left: one period, from an earlier admission.
    history.correct_periods(coop, (date(2023, 8, 1), None))

    result = figures(engine, history)

    assert result["members.total"] == 1
    assert result["members.joined"] == 0
    assert result["members.left"] == 0
    assert set(result["members.joined_by_month"].values()) == {0}


def test_a_departure_after_a_correction_closes_the_corrected_open_period(
    engine: sa.Engine,
) -> None:
    history = History2()
    coop = history.join(date(2023, 10, 15))
    history.correct_periods(coop, (date(2023, 9, 1), date(2023, 10, 1)), (date(2023, 11, 1), None))
    history.leave(coop, date(2024, 3, 1))

    result = figures(engine, history)

    assert result["members.total"] == 0
    assert result["members.joined"] == 2
    assert result["members.left"] == 2
    assert result["members.joined_by_month"]["2023-09"] == 1
    assert result["members.joined_by_month"]["2023-11"] == 1


def test_a_null_worker_members_counts_zero(engine: sa.Engine) -> None:
    history = History2()
    coop = history.join(S, worker_members=None)  # type: ignore[arg-type]
    other = history.join(S, worker_members=4)
    history.update_profile(other, worker_members=None)
    history.update_profile(coop, worker_members=3)

    assert figures(engine, history)["members.worker_members"] == 3


def test_a_withdrawn_attendance_counts_nowhere_and_may_be_recorded_again(
    engine: sa.Engine,
) -> None:
    history = History2()
    coop = history.join(S)
    first = history.schedule(S + timedelta(days=5))
    second = history.schedule(S + timedelta(days=6))
    history.attend(first, coop, 3)
    history.attend(second, coop, 2)
    history.withdraw_attendance(first, coop)
    history.withdraw_attendance(second, coop)
    history.attend(second, coop, 6)

    result = figures(engine, history)

    assert result["attendance.member_attendances"] == 1
    assert result["attendance.participants"] == 6
    assert result["participation.participating_members"] == 1


def test_a_corrected_attendance_counts_its_corrected_participants(engine: sa.Engine) -> None:
    history = History2()
    coop = history.join(S)
    activity = history.schedule(S + timedelta(days=5))
    history.attend(activity, coop, 3)
    history.correct_attendance(activity, coop, 8)

    assert figures(engine, history)["attendance.participants"] == 8


def test_an_attendance_counts_on_its_activity_s_revised_date_and_type(engine: sa.Engine) -> None:
    history = History2()
    coop = history.join(date(2022, 1, 1))
    moved_out = history.schedule(S + timedelta(days=5), "formation")
    moved_in = history.schedule(S - timedelta(days=5), "formation")
    history.attend(moved_out, coop, 3)
    history.attend(moved_in, coop, 4)
    history.revise(moved_out, date=(E + timedelta(days=1)).isoformat())
    history.revise(moved_in, date=S.isoformat(), type="conference")

    result = figures(engine, history)

    assert result["activities.by_type"]["formation"] == 0
    assert result["activities.by_type"]["conference"] == 1
    assert result["attendance.participants"] == 4
    assert result["participation.by_activity_type"]["conference"] == 1
    assert result["participation.by_activity_type"]["formation"] == 0


def test_a_reinstated_activity_counts_again_with_its_attendance(engine: sa.Engine) -> None:
    history = History2()
    coop = history.join(S)
    activity = history.schedule(S + timedelta(days=5))
    history.attend(activity, coop, 3)
    history.cancel(activity)
    history.event("ActivityReinstated", activity, {"activity_id": activity, "reason": None})

    result = figures(engine, history)

    assert result["activities.total"] == 1
    assert result["attendance.participants"] == 3


def test_public_attendance_of_version_one_is_corrected_and_withdrawn_by_its_event_id(
    engine: sa.Engine,
) -> None:
    history = History2()
    activity = history.schedule(S + timedelta(days=5), "cine_discussion", region="06")
    history.public(activity, 40)
    first = history.envelopes[-1]["event_id"]
    history.public(activity, 10, "02")
    second = history.envelopes[-1]["event_id"]
    history.event(
        "PublicAttendanceRecorded",
        activity,
        {"activity_id": activity, "record_id": str(uuid.uuid4()), "count": 7, "region": None},
    )
    history.event(
        "PublicAttendanceCorrected",
        activity,
        {"activity_id": activity, "record_id": first, "count": 45, "region": "03", "reason": None},
    )
    history.event(
        "PublicAttendanceWithdrawn",
        activity,
        {"activity_id": activity, "record_id": second, "reason": None},
    )

    result = figures(engine, history)

    assert result["outreach.people_reached"] == 52
    assert result["outreach.regions"] == 2  # 03, and the activity's 06


def test_ambassador_corrections_withdrawals_and_reactivation(engine: sa.Engine) -> None:
    history = History2()
    coop = history.join(date(2022, 1, 1))
    ambassador = history.enroll(coop, E + timedelta(days=1))
    history.act(ambassador, S + timedelta(days=3), 5)
    logged_v1 = history.envelopes[-1]["event_id"]
    withdrawn = str(uuid.uuid4())
    history.event(
        "AmbassadorActionLogged",
        ambassador,
        {
            "ambassador_id": ambassador,
            "action_id": withdrawn,
            "kind": "kiosque",
            "performed_on": (S + timedelta(days=4)).isoformat(),
            "activity_id": None,
            "people_reached": 9,
        },
    )
    history.event(
        "AmbassadorActionCorrected",
        ambassador,
        {
            "ambassador_id": ambassador,
            "action_id": logged_v1,
            "kind": "presentation",
            "performed_on": (S + timedelta(days=8)).isoformat(),
            "activity_id": None,
            "people_reached": 12,
            "reason": None,
        },
    )
    history.event(
        "AmbassadorActionWithdrawn",
        ambassador,
        {"ambassador_id": ambassador, "action_id": withdrawn, "reason": None},
    )
    history.event(
        "AmbassadorEnrollmentCorrected",
        ambassador,
        {"ambassador_id": ambassador, "enrolled_on": S.isoformat(), "reason": None},
    )
    history.deactivate(ambassador, S + timedelta(days=20))
    history.deactivate(ambassador, S + timedelta(days=40))  # its effective_on moved
    history.event(
        "AmbassadorReactivated", ambassador, {"ambassador_id": ambassador, "reason": None}
    )

    result = figures(engine, history)

    assert result["ambassadors.actions"] == 1
    assert result["ambassadors.people_reached"] == 12
    assert result["ambassadors.active"] == 1


def test_a_moved_deactivation_ends_the_ambassador_on_its_new_date(engine: sa.Engine) -> None:
    history = History2()
    coop = history.join(date(2022, 1, 1))
    ambassador = history.enroll(coop, S)
    history.deactivate(ambassador, S + timedelta(days=20))
    history.deactivate(ambassador, E + timedelta(days=1))

    assert figures(engine, history)["ambassadors.active"] == 1


# --- partnerships -----------------------------------------------------------------------------


def test_film_discussion_partners_are_resolved_through_the_directory(engine: sa.Engine) -> None:
    history = History2()
    poles = history.partner("Pôle d’économie sociale", "economie_sociale", ["Pôles ÉS"])
    cqcm = history.partner("CQCM", "reseau_cooperatif")
    history.event("PartnerDeactivated", cqcm, {"partner_id": cqcm})
    history.schedule(
        S + timedelta(days=5),
        "cine_discussion",
        partners=["pôle d'économie  sociale", "PÔLES ÉS", "cqcm", "Maison du quartier"],
    )
    history.schedule(
        S + timedelta(days=6), "cine_discussion", partners=["Pôles\u00a0ÉS", "MAISON DU QUARTIER"]
    )
    history.schedule(S + timedelta(days=7), "formation", partners=["Université"])
    history.event(
        "PartnerUpdated", poles, {"partner_id": poles, "changes": {"aliases": ["Pôles ÉS"]}}
    )

    result = figures(engine, history)

    assert result["outreach.partners"] == 3
    assert result["outreach.partners_by_kind"] == {
        **dict.fromkeys(PARTNER_KINDS, 0),
        "economie_sociale": 1,
        "reseau_cooperatif": 1,
        NOT_IN_DIRECTORY: 1,
    }


def test_every_partner_kind_and_table_action_kind_is_present_without_data(
    engine: sa.Engine,
) -> None:
    result = figures(engine, History2())

    assert list(result["outreach.partners_by_kind"]) == [*PARTNER_KINDS, NOT_IN_DIRECTORY]
    assert set(result["sector_tables.actions_by_kind"].values()) == {0}
    assert len(result["sector_tables.actions_by_kind"]) == 4


def test_research_projects_under_way_at_some_point_in_the_year(engine: sa.Engine) -> None:
    history = History2()
    uqam = history.partner("UQAM", "recherche")
    cerse = history.partner("CERSE", "recherche")
    spans = [
        (date(2022, 1, 1), S - timedelta(days=1)),  # ended before S: not counted
        (date(2022, 1, 1), S),  # ended on S: counted
        (E, None),  # starts on C: counted
        (E + timedelta(days=1), None),  # after C: not counted
    ]
    for number, (started, ended) in enumerate(spans):
        project = str(uuid.uuid4())
        history.event(
            "ResearchProjectStarted",
            project,
            {
                "project_id": project,
                "title": "Recherche",
                "theme": None,
                "partner_ids": [uqam, cerse] if number == 1 else [uqam],
                "started_on": started.isoformat(),
            },
        )
        if ended is not None:
            history.event(
                "ResearchProjectCompleted",
                project,
                {"project_id": project, "ended_on": ended.isoformat()},
            )

    result = figures(engine, history)

    assert result["research.projects"] == 2
    assert result["research.partners"] == 2


def test_sector_tables_members_actions_and_retailers_on_the_cutoff(engine: sa.Engine) -> None:
    history = History2()
    member = history.join(date(2022, 1, 1))
    gone = history.join(date(2022, 1, 1))
    history.leave(gone, date(2024, 1, 1))
    voided = history.join(date(2022, 1, 1))
    history.void(voided)
    retailer = history.partner("Dépanneur Ouest", "detaillant")
    other_retailer = history.partner("Épicerie Est", "detaillant")
    table = history.table(date(2023, 1, 1))
    dissolved = history.table(date(2023, 1, 1))
    history.table(E + timedelta(days=1))  # formed after C
    for coop in (member, gone, voided):
        history.on_table(table, "SectorTableMemberAdded", cooperative_id=coop, joined_on=S)
    history.on_table(dissolved, "SectorTableMemberAdded", cooperative_id=gone, joined_on=S)
    history.on_table(dissolved, "SectorTableDissolved", dissolved_on=E)
    for kind, on in (("visibilite", S), ("visibilite", E), ("mutualisation", E), ("autre", S)):
        history.on_table(
            table,
            "SectorTableActionLogged",
            action_id=str(uuid.uuid4()),
            kind=kind,
            title="Action",
            performed_on=on,
            partner_ids=[],
        )
    withdrawn = history.envelopes[-1]["data"]["action_id"]
    history.on_table(table, "SectorTableActionWithdrawn", action_id=withdrawn, reason=None)
    placements = [(retailer, S, None), (retailer, S, E), (other_retailer, S, E)]
    for number, (partner, started, ended) in enumerate(placements):
        placement = f"00000000-0000-0000-0000-00000000000{number}"
        history.on_table(
            table,
            "RetailPlacementSecured",
            placement_id=placement,
            retailer_id=partner,
            started_on=started,
            note=None,
        )
        if ended is not None:
            history.on_table(
                table,
                "RetailPlacementEnded",
                placement_id=placement,
                retailer_id=partner,
                ended_on=ended,
            )

    result = figures(engine, history)

    assert result["sector_tables.active"] == 1
    assert result["sector_tables.member_cooperatives"] == 1
    assert result["sector_tables.actions"] == 3
    assert result["sector_tables.actions_by_kind"] == {
        "visibilite": 2,
        "representation": 0,
        "mutualisation": 1,
        "autre": 0,
    }
    assert result["sector_tables.retailers"] == 1


def test_a_member_who_left_a_table_and_came_back_belongs_on_its_new_span(
    engine: sa.Engine,
) -> None:
    history = History2()
    coop = history.join(date(2022, 1, 1))
    table = history.table(date(2023, 1, 1))
    history.on_table(table, "SectorTableMemberAdded", cooperative_id=coop, joined_on=S)
    history.on_table(
        table, "SectorTableMemberRemoved", cooperative_id=coop, left_on=S + timedelta(days=9)
    )
    history.on_table(
        table, "SectorTableMemberAdded", cooperative_id=coop, joined_on=S + timedelta(days=30)
    )

    assert (
        figures(engine, history, as_of=S + timedelta(days=10))["sector_tables.member_cooperatives"]
        == 0
    )
    assert (
        figures(engine, None, as_of=S + timedelta(days=5))["sector_tables.member_cooperatives"] == 1
    )
    assert figures(engine, None)["sector_tables.member_cooperatives"] == 1


# --- as recorded ------------------------------------------------------------------------------


def as_recorded(engine: sa.Engine, instant: datetime, generation: int = 1) -> dict[str, Any]:
    with engine.connect() as conn:
        return compute_indicators(conn, generation, YEAR, E, as_recorded=instant)


def test_as_recorded_takes_periods_profiles_and_the_directory_as_they_stood(
    engine: sa.Engine,
) -> None:
    history = History2()
    coop = history.join(S, region="06", worker_members=4)
    history.partner("Pôle ÉS", "economie_sociale")
    history.schedule(S + timedelta(days=3), "cine_discussion", partners=["Pole ES", "pôle és"])
    noted = history.now - timedelta(microseconds=1)  # after everything so far
    history.update_profile(coop, region="02", worker_members=9)
    history.correct_periods(coop, (S - timedelta(days=30), S + timedelta(days=5)))
    other = history.partner("Pole ES", "reseau_cooperatif")
    history.event("CoopVoided", coop, {"cooperative_id": coop, "reason": "Doublon"})
    project(engine, history)

    then = as_recorded(engine, noted)
    now = as_recorded(engine, history.now)

    assert then["members.total"] == 1
    assert then["members.by_region"]["06"] == 1
    assert then["members.worker_members"] == 4
    assert then["members.joined"] == 1
    assert then["outreach.partners"] == 2
    assert then["outreach.partners_by_kind"]["economie_sociale"] == 1
    assert then["outreach.partners_by_kind"][NOT_IN_DIRECTORY] == 1
    assert now["members.total"] == 0
    assert now["outreach.partners_by_kind"]["reseau_cooperatif"] == 1
    assert other
    with engine.connect() as conn:
        assert now == compute_indicators(conn, 1, YEAR, E)


def test_as_recorded_before_anything_was_recorded_answers_zeros(engine: sa.Engine) -> None:
    history = History2()
    history.join(S)
    project(engine, history)

    result = as_recorded(engine, datetime(2020, 1, 1, tzinfo=UTC))

    assert result["members.total"] == 0
    assert result == indicators(engine, generation=2)


def test_an_instant_is_compared_to_the_microsecond_whatever_its_offset(engine: sa.Engine) -> None:
    history = History2()
    history.now = datetime(2024, 1, 5, 10, 0, 0, 250, tzinfo=UTC)
    history.join(S)
    # The same instant written in Montréal's winter offset.
    history.envelopes[-1]["occurred_at"] = "2024-01-05T05:00:00.000250-05:00"
    project(engine, history)

    montreal = timezone(timedelta(hours=-5))
    just_before = datetime(2024, 1, 5, 5, 0, 0, 249, tzinfo=montreal)
    exactly = datetime(2024, 1, 5, 10, 0, 0, 250, tzinfo=UTC)

    assert as_recorded(engine, just_before)["members.total"] == 0
    assert as_recorded(engine, exactly)["members.total"] == 1


def test_recorded_instants_are_utc_text_with_microseconds() -> None:
    assert parse_recorded_at("2024-01-05T05:00:00-05:00") == "2024-01-05T10:00:00.000000Z"
    assert parse_recorded_at("2024-01-05T10:00:00.123456Z") == "2024-01-05T10:00:00.123456Z"
    assert recorded_at_text(datetime(2024, 1, 5, 10, 0)) == "2024-01-05T10:00:00.000000Z"


# --- BI views and upgrade ---------------------------------------------------------------------


def test_bi_views_show_the_records_as_corrected_and_the_partnerships(engine: sa.Engine) -> None:
    history = History2()
    voided = history.join(S)
    history.void(voided)
    coop = history.join(S)
    activity = history.schedule(S + timedelta(days=1))
    history.attend(activity, coop, 2)
    history.attend(activity, voided, 2)
    history.withdraw_attendance(activity, coop)
    retailer = history.partner("Dépanneur", "detaillant", ["Dep"])
    table = history.table(S)
    history.on_table(
        table,
        "RetailPlacementSecured",
        placement_id=str(uuid.uuid4()),
        retailer_id=retailer,
        started_on=S,
        note=None,
    )
    project(engine, history)

    def view(name: str) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return [dict(r) for r in conn.exec_driver_sql(f"SELECT * FROM {name}").mappings()]

    statuses = {row["cooperative_id"]: row["status"] for row in view("reporting_v_cooperatives")}
    assert statuses == {voided: "voided", coop: "active"}
    assert [p["cooperative_id"] for p in view("reporting_v_membership_periods")] == [coop]
    [attendance] = view("reporting_v_attendance")
    assert attendance["cooperative_id"] == voided
    assert attendance["cooperative_voided"] == 1
    [partner] = view("reporting_v_partners")
    assert (partner["name"], partner["kind"], partner["status"]) == (
        "Dépanneur",
        "detaillant",
        "active",
    )
    [listed_table] = view("reporting_v_sector_tables")
    assert listed_table["status"] == "active"
    assert listed_table["open_retail_placements"] == 1
    assert [p["status"] for p in view("reporting_v_retail_placements")] == ["open"]
    assert {
        "reporting_v_partners",
        "reporting_v_research_projects",
        "reporting_v_sector_tables",
        "reporting_v_sector_table_members",
        "reporting_v_sector_table_actions",
        "reporting_v_retail_placements",
        "reporting_v_sectors",
    } <= set(bi_view_names())


def test_a_model_of_the_previous_release_is_made_anew_and_replayed_from_the_start() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE reporting_public_attendances (generation INTEGER, event_id TEXT, "
            "activity_id TEXT, attendee_count INTEGER, region TEXT)"
        )
        tracking_table.create(conn)
        consumed_versions.create(conn)
        conn.execute(
            sa.insert(tracking_table),
            [
                {"name": "COOP_EVENTS:reporting-events-g1", "position": 42},
                {"name": "COOP_MEMBERSHIP:events-membership-view", "position": 7},
            ],
        )
        assert create_schema(conn) is True
        assert create_schema(conn) is False
        columns = {c["name"] for c in sa.inspect(conn).get_columns("reporting_public_attendances")}
        positions = {row.name: row.position for row in conn.execute(sa.select(tracking_table))}
        history = History2()
        history.join(S)
        apply_events(conn, 1, history.envelopes)

    assert {"record_id", "withdrawn"} <= columns
    assert positions == {"COOP_MEMBERSHIP:events-membership-view": 7}


def test_the_sector_list_as_it_stood(engine: sa.Engine) -> None:
    history = History2()
    define = {"slug": "microbrasserie", "label": {"fr": "Microbrasserie", "en": "Microbrewery"}}
    history.event("SectorDefined", str(uuid.uuid4()), define)
    noted = history.now - timedelta(microseconds=1)  # before the next event
    relabel = {"slug": "microbrasserie", "label": {"fr": "Brasserie", "en": "Brewery"}}
    history.event("SectorDefined", str(uuid.uuid4()), relabel)
    added = {"slug": "design", "label": {"fr": "Design", "en": "Design"}}
    history.event("SectorDefined", str(uuid.uuid4()), added)
    project(engine, history)

    with engine.connect() as conn:
        then = sector_labels(conn, 1, recorded_at_text(noted))
        now = sector_labels(conn, 1)

    assert then == {"microbrasserie": {"fr": "Microbrasserie", "en": "Microbrewery"}}
    assert now == {
        "design": {"fr": "Design", "en": "Design"},
        "microbrasserie": {"fr": "Brasserie", "en": "Brewery"},
    }


class _Projector:
    """What the read model asks of the projector: tracking names and freshness."""

    def tracking_names(self, generation: int) -> list[str]:
        return [f"COOP_MEMBERSHIP:reporting-membership-g{generation}"]

    def freshness(self) -> dict[str, Any]:
        return {}


def test_the_read_model_answers_as_recorded_and_keeps_answers_apart_by_instant(
    tmp_path: Any,
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'reporting.db'}", app_name="reporting")
    database.create_tables()
    history = History2()
    coop = history.join(S)
    noted = history.now - timedelta(microseconds=1)  # before the void
    history.void(coop)
    with database.writing() as conn:
        create_schema(conn)
        apply_events(conn, 1, history.envelopes)
    model = ReadModel(database, _Projector(), "09-01")  # type: ignore[arg-type]
    montreal = timezone(timedelta(hours=-5))

    then = model.indicators(YEAR, as_recorded=noted.astimezone(montreal))
    now = model.indicators(YEAR)

    assert then["as_recorded"] == recorded_at_text(noted)
    assert then["indicators"]["members.total"] == 1
    assert now["as_recorded"] is None
    assert now["indicators"]["members.total"] == 0
    database.engine.dispose()
