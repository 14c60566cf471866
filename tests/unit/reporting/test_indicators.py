"""Indicators of CONTRACT §5 computed from small hand-made histories of integration events."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from services.reporting.facts import (
    FACT_TABLES,
    active_generation,
    bi_view_names,
    create_bi_views,
    create_schema,
    set_active_generation,
)
from services.reporting.fiscal_year import FiscalYear, FiscalYearError, parse_fiscal_year
from services.reporting.indicators import (
    ACTIVITY_TYPES,
    INDICATOR_NAMES,
    REGION_CODES,
    compute_indicators,
    participation_rate,
    scalar_indicators,
)
from services.reporting.projection import (
    ProjectionError,
    apply_event,
    apply_events,
    drop_generation,
)

YEAR = parse_fiscal_year("2023-2024")
S = YEAR.start  # 2023-09-01
E = YEAR.end  # 2024-08-31


class History:
    """Builds §7 envelopes in the order the services would publish them."""

    def __init__(self) -> None:
        self.envelopes: list[dict[str, Any]] = []
        self._versions: dict[str, int] = {}
        self._activities: dict[str, tuple[str, date]] = {}

    def event(self, event_type: str, aggregate_id: str, data: dict[str, Any]) -> dict[str, Any]:
        version = self._versions.get(aggregate_id, 0) + 1
        self._versions[aggregate_id] = version
        envelope = {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "schema_version": 1,
            "aggregate_id": aggregate_id,
            "aggregate_version": version,
            "occurred_at": "2024-01-05T10:00:00Z",
            "correlation_id": str(uuid.uuid4()),
            "causation_id": None,
            "data": data,
        }
        self.envelopes.append(envelope)
        return envelope

    def join(
        self,
        joined_on: date,
        *,
        region: str = "06",
        sector: str = "microbrasserie",
        worker_members: int = 5,
    ) -> str:
        coop = str(uuid.uuid4())
        self.event(
            "CoopJoined",
            coop,
            {
                "cooperative_id": coop,
                "name": "Coop de travail Exemple",
                "region": region,
                "sector": sector,
                "worker_members": worker_members,
                "joined_on": joined_on.isoformat(),
                "neq": None,
            },
        )
        return coop

    def update_profile(self, coop: str, **changes: Any) -> None:
        self.event("CoopProfileUpdated", coop, {"cooperative_id": coop, "changes": changes})

    def leave(self, coop: str, left_on: date) -> None:
        self.event(
            "CoopLeft",
            coop,
            {"cooperative_id": coop, "left_on": left_on.isoformat(), "reason": None},
        )

    def rejoin(self, coop: str, rejoined_on: date) -> None:
        self.event(
            "CoopRejoined", coop, {"cooperative_id": coop, "rejoined_on": rejoined_on.isoformat()}
        )

    def schedule(
        self,
        on: date,
        activity_type: str = "formation",
        *,
        region: str | None = "06",
        partners: list[str] | None = None,
        activity_format: str = "in_person",
        activity: str | None = None,
    ) -> str:
        activity = activity or str(uuid.uuid4())
        self._activities[activity] = (activity_type, on)
        self.event(
            "ActivityScheduled",
            activity,
            {
                "activity_id": activity,
                "type": activity_type,
                "title": "Activité",
                "date": on.isoformat(),
                "format": activity_format,
                "region": region,
                "partners": partners or [],
            },
        )
        return activity

    def cancel(self, activity: str) -> None:
        self.event("ActivityCancelled", activity, {"activity_id": activity, "reason": None})

    def attend(
        self,
        activity: str,
        coop: str,
        participants: int = 1,
        *,
        activity_type: str | None = None,
        activity_date: date | None = None,
    ) -> None:
        known_type, known_date = self._activities.get(activity, (None, None))
        on = activity_date or known_date
        self.event(
            "ActivityAttended",
            activity,
            {
                "activity_id": activity,
                "cooperative_id": coop,
                "participants": participants,
                "activity_type": activity_type or known_type,
                "activity_date": on.isoformat() if on else None,
            },
        )

    def public(self, activity: str, count: int, region: str | None = None) -> None:
        self.event(
            "PublicAttendanceRecorded",
            activity,
            {"activity_id": activity, "count": count, "region": region},
        )

    def enroll(self, coop: str, enrolled_on: date) -> str:
        ambassador = str(uuid.uuid4())
        self.event(
            "AmbassadorEnrolled",
            ambassador,
            {
                "ambassador_id": ambassador,
                "cooperative_id": coop,
                "enrolled_on": enrolled_on.isoformat(),
            },
        )
        return ambassador

    def act(
        self,
        ambassador: str,
        performed_on: date,
        people_reached: int | None = None,
        *,
        kind: str = "presentation",
        activity: str | None = None,
    ) -> None:
        self.event(
            "AmbassadorActionLogged",
            ambassador,
            {
                "ambassador_id": ambassador,
                "kind": kind,
                "performed_on": performed_on.isoformat(),
                "activity_id": activity,
                "people_reached": people_reached,
            },
        )

    def retire(self, ambassador: str, retired_on: date) -> None:
        self.event(
            "AmbassadorRetired",
            ambassador,
            {"ambassador_id": ambassador, "retired_on": retired_on.isoformat()},
        )

    def deactivate(self, ambassador: str, effective_on: date) -> None:
        self.event(
            "AmbassadorDeactivated",
            ambassador,
            {
                "ambassador_id": ambassador,
                "effective_on": effective_on.isoformat(),
                "reason": "cooperative_left",
            },
        )


def project(engine: sa.Engine, history: History, generation: int = 1) -> None:
    """The history as one batch (the property tests cut histories every other way)."""
    with engine.begin() as conn:
        apply_events(conn, generation, history.envelopes)


def indicators(
    engine: sa.Engine,
    history: History | None = None,
    *,
    as_of: date | None = None,
    year: FiscalYear = YEAR,
    generation: int = 1,
) -> dict[str, Any]:
    if history is not None:
        project(engine, history, generation)
    with engine.connect() as conn:
        return compute_indicators(conn, generation, year, year.cutoff(as_of))


# --- the shape of the answer ------------------------------------------------------------------


def test_a_year_without_data_answers_every_indicator_with_zeros(engine: sa.Engine) -> None:
    result = indicators(engine)

    assert list(result) == list(INDICATOR_NAMES)
    assert result["members.by_region"] == dict.fromkeys(REGION_CODES, 0)
    assert result["members.by_sector"] == {}
    assert result["members.joined_by_month"] == dict.fromkeys(YEAR.months(), 0)
    assert list(result["members.joined_by_month"]) == YEAR.months()
    assert result["participation.by_activity_type"] == dict.fromkeys(ACTIVITY_TYPES, 0)
    assert result["activities.by_type"] == dict.fromkeys(ACTIVITY_TYPES, 0)
    assert result["participation.rate"] == 0
    assert isinstance(result["participation.rate"], float)
    scalars = {k: v for k, v in result.items() if not isinstance(v, dict)}
    assert set(scalars.values()) == {0}


def test_every_scalar_indicator_is_a_number_and_every_object_maps_to_integers(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(S)
    history.attend(history.schedule(S, "cine_discussion", partners=["P"]), coop, 2)
    history.act(history.enroll(coop, S), S, 3)

    result = indicators(engine, history)

    for name, value in result.items():
        if isinstance(value, dict):
            assert all(type(v) is int for v in value.values()), name
        elif name == "participation.rate":
            assert type(value) is float
        else:
            assert type(value) is int, name


def test_scalar_indicators_keeps_only_the_numbers_as_floats(engine: sa.Engine) -> None:
    history = History()
    history.join(S)

    scalars = scalar_indicators(indicators(engine, history))

    assert set(scalars) == {
        name
        for name in INDICATOR_NAMES
        if name
        not in {
            "members.joined_by_month",
            "members.by_region",
            "members.by_sector",
            "participation.by_activity_type",
            "activities.by_type",
            "outreach.partners_by_kind",
            "sector_tables.actions_by_kind",
        }
    }
    assert all(type(value) is float for value in scalars.values())
    assert scalars["members.total"] == 1.0


def test_a_cutoff_outside_the_fiscal_year_is_refused(engine: sa.Engine) -> None:
    with engine.connect() as conn, pytest.raises(FiscalYearError):
        compute_indicators(conn, 1, YEAR, S - timedelta(days=1))
    with engine.connect() as conn, pytest.raises(FiscalYearError):
        compute_indicators(conn, 1, YEAR, E + timedelta(days=1))


# --- members ----------------------------------------------------------------------------------


def test_a_member_active_on_the_cutoff_is_counted_by_region_sector_and_worker_members(
    engine: sa.Engine,
) -> None:
    history = History()
    history.join(date(2022, 5, 14), region="01", sector="boulangerie", worker_members=12)
    history.join(date(2023, 10, 2), region="06", sector="microbrasserie", worker_members=4)
    history.join(date(2024, 2, 3), region="06", sector="microbrasserie", worker_members=7)

    result = indicators(engine, history)

    assert result["members.total"] == 3
    assert result["members.by_region"] == {**dict.fromkeys(REGION_CODES, 0), "01": 1, "06": 2}
    assert result["members.by_sector"] == {"boulangerie": 1, "microbrasserie": 2}
    assert result["members.worker_members"] == 23


def test_a_join_before_the_year_counts_as_a_member_but_not_as_a_join(engine: sa.Engine) -> None:
    history = History()
    history.join(S - timedelta(days=1))

    result = indicators(engine, history)

    assert result["members.total"] == 1
    assert result["members.joined"] == 0


def test_joins_on_the_start_and_on_the_cutoff_are_counted(engine: sa.Engine) -> None:
    history = History()
    history.join(S)
    history.join(date(2024, 1, 15))

    result = indicators(engine, history, as_of=date(2024, 1, 15))

    assert result["members.total"] == 2
    assert result["members.joined"] == 2


def test_a_join_after_the_cutoff_is_not_counted(engine: sa.Engine) -> None:
    history = History()
    history.join(date(2023, 10, 1))
    history.join(date(2024, 1, 16))
    history.join(date(2024, 9, 1))  # the next fiscal year

    mid_year = indicators(engine, history, as_of=date(2024, 1, 15))
    end_of_year = indicators(engine)

    assert mid_year["members.total"] == 1
    assert mid_year["members.joined"] == 1
    assert end_of_year["members.total"] == 2
    assert end_of_year["members.joined"] == 2


def test_a_departure_on_the_last_day_of_the_year_counts_as_left_and_ends_membership(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2022, 1, 10), region="03", sector="imprimerie", worker_members=9)
    history.leave(coop, E)

    result = indicators(engine, history)

    assert result["members.left"] == 1
    assert result["members.total"] == 0
    assert result["members.by_region"]["03"] == 0
    assert result["members.by_sector"] == {}
    assert result["members.worker_members"] == 0


def test_a_member_on_its_last_day_is_still_counted(engine: sa.Engine) -> None:
    history = History()
    coop = history.join(date(2022, 1, 10))
    history.leave(coop, E + timedelta(days=1))

    result = indicators(engine, history)

    assert result["members.total"] == 1
    assert result["members.left"] == 0


def test_a_departure_after_the_cutoff_is_not_counted(engine: sa.Engine) -> None:
    history = History()
    coop = history.join(date(2022, 1, 10))
    history.leave(coop, date(2024, 3, 1))

    result = indicators(engine, history, as_of=date(2024, 2, 29))

    assert result["members.left"] == 0
    assert result["members.total"] == 1


def test_a_departure_before_the_year_is_not_counted(engine: sa.Engine) -> None:
    history = History()
    coop = history.join(date(2022, 1, 10))
    history.leave(coop, S - timedelta(days=1))

    result = indicators(engine, history)

    assert result["members.left"] == 0
    assert result["members.total"] == 0


def test_a_rejoin_in_the_same_year_counts_two_joins_one_departure_and_one_member(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2023, 9, 10))
    history.leave(coop, date(2023, 11, 1))
    history.rejoin(coop, date(2024, 2, 1))

    result = indicators(engine, history)

    assert result["members.joined"] == 2
    assert result["members.left"] == 1
    assert result["members.total"] == 1
    months = result["members.joined_by_month"]
    assert months["2023-09"] == 1
    assert months["2024-02"] == 1
    assert sum(months.values()) == 2


def test_a_cooperative_between_two_periods_on_the_cutoff_is_not_a_member(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2023, 9, 10))
    history.leave(coop, date(2023, 11, 1))
    history.rejoin(coop, date(2024, 2, 1))

    result = indicators(engine, history, as_of=date(2024, 1, 31))

    assert result["members.total"] == 0
    assert result["members.joined"] == 1
    assert result["members.left"] == 1


def test_a_rejoin_on_the_day_of_departure_keeps_the_cooperative_a_member(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2022, 9, 10))
    history.leave(coop, date(2024, 1, 10))
    history.rejoin(coop, date(2024, 1, 10))

    result = indicators(engine, history, as_of=date(2024, 1, 10))

    assert result["members.total"] == 1
    assert result["members.joined"] == 1
    assert result["members.left"] == 1


def test_joins_by_month_cover_every_month_from_start_to_cutoff(engine: sa.Engine) -> None:
    history = History()
    history.join(date(2023, 9, 1))
    history.join(date(2023, 9, 30))
    coop = history.join(date(2023, 12, 31))
    history.leave(coop, date(2024, 1, 5))
    history.rejoin(coop, date(2024, 1, 20))
    history.join(date(2024, 2, 1))  # after the cut-off

    result = indicators(engine, history, as_of=date(2024, 1, 31))

    assert result["members.joined_by_month"] == {
        "2023-09": 2,
        "2023-10": 0,
        "2023-11": 0,
        "2023-12": 1,
        "2024-01": 1,
    }
    assert result["members.joined"] == 4


def test_a_profile_update_moves_the_cooperative_to_its_current_region_and_sector(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2022, 3, 1), region="06", sector="microbrasserie", worker_members=5)
    history.update_profile(coop, region="03")
    history.update_profile(coop, sector="boulangerie", worker_members=8)
    history.update_profile(coop, name="Nouveau nom")  # other fields unchanged

    # The report for an earlier cut-off still uses the current profile.
    result = indicators(engine, history, as_of=date(2023, 10, 1))

    assert result["members.by_region"]["03"] == 1
    assert result["members.by_region"]["06"] == 0
    assert result["members.by_sector"] == {"boulangerie": 1}
    assert result["members.worker_members"] == 8


def test_by_sector_lists_only_sectors_with_active_members(engine: sa.Engine) -> None:
    history = History()
    history.join(date(2022, 3, 1), sector="boulangerie")
    gone = history.join(date(2022, 3, 1), sector="imprimerie")
    history.leave(gone, date(2023, 1, 1))
    history.join(date(2024, 8, 1), sector="informatique")

    result = indicators(engine, history, as_of=date(2024, 6, 1))

    assert result["members.by_sector"] == {"boulangerie": 1}


# --- participation, activities and attendance ------------------------------------------------


def test_participation_counts_members_with_an_attendance_at_a_counted_activity(
    engine: sa.Engine,
) -> None:
    history = History()
    coops = [history.join(date(2023, 1, 1)) for _ in range(125)]
    activity = history.schedule(date(2023, 10, 5), "formation")
    for coop in coops[:114]:
        history.attend(activity, coop)

    result = indicators(engine, history)

    assert result["participation.participating_members"] == 114
    assert result["participation.rate"] == 0.912


def test_participation_rate_rounds_half_even_to_four_decimals() -> None:
    assert participation_rate(1, 32) == 0.0312  # 0.03125
    assert participation_rate(3, 32) == 0.0938  # 0.09375
    assert participation_rate(2, 3) == 0.6667
    assert participation_rate(1, 8) == 0.125
    assert participation_rate(5, 5) == 1.0
    assert participation_rate(0, 0) == 0.0


def test_attendance_by_a_cooperative_that_left_later_in_the_year_counts_as_attendance_only(
    engine: sa.Engine,
) -> None:
    history = History()
    stays = history.join(date(2022, 1, 1))
    leaves = history.join(date(2022, 1, 1))
    activity = history.schedule(date(2023, 10, 5), "courtepointe")
    history.attend(activity, stays, 2)
    history.attend(activity, leaves, 3)
    history.leave(leaves, date(2024, 3, 1))

    result = indicators(engine, history)

    assert result["attendance.member_attendances"] == 2
    assert result["attendance.participants"] == 5
    assert result["participation.participating_members"] == 1
    assert result["participation.rate"] == 1.0
    assert result["participation.by_activity_type"]["courtepointe"] == 1


def test_a_cancelled_activity_counts_nowhere(engine: sa.Engine) -> None:
    history = History()
    coop = history.join(date(2022, 1, 1))
    activity = history.schedule(
        date(2023, 10, 12), "cine_discussion", region="01", partners=["Pôle ÉS"]
    )
    history.attend(activity, coop, 4)
    history.public(activity, 40, "01")
    history.cancel(activity)

    result = indicators(engine, history)

    assert result["activities.total"] == 0
    assert result["activities.by_type"]["cine_discussion"] == 0
    assert result["attendance.member_attendances"] == 0
    assert result["attendance.participants"] == 0
    assert result["participation.participating_members"] == 0
    assert result["participation.by_activity_type"]["cine_discussion"] == 0
    assert result["outreach.cine_discussions"] == 0
    assert result["outreach.people_reached"] == 0
    assert result["outreach.regions"] == 0
    assert result["outreach.partners"] == 0


def test_activities_are_counted_per_type_within_the_year(engine: sa.Engine) -> None:
    history = History()
    history.schedule(S, "formation")
    history.schedule(date(2024, 1, 15), "formation")
    history.schedule(date(2024, 1, 16), "formation")  # after the cut-off
    history.schedule(S - timedelta(days=1), "conference")  # before the year
    history.schedule(date(2023, 12, 1), "reseautage")
    history.cancel(history.schedule(date(2023, 12, 2), "reseautage"))
    history.schedule(date(2023, 12, 3), "autre", region=None, activity_format="remote")

    result = indicators(engine, history, as_of=date(2024, 1, 15))

    assert result["activities.total"] == 4
    assert result["activities.by_type"] == {
        **dict.fromkeys(ACTIVITY_TYPES, 0),
        "formation": 2,
        "reseautage": 1,
        "autre": 1,
    }


def test_attendance_is_dated_by_its_activity_and_counted_within_the_year(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2022, 1, 1))
    before = history.schedule(S - timedelta(days=1))
    inside = history.schedule(date(2024, 1, 15))
    after = history.schedule(date(2024, 1, 16))
    for activity in (before, inside, after):
        history.attend(activity, coop, 3)

    result = indicators(engine, history, as_of=date(2024, 1, 15))

    assert result["attendance.member_attendances"] == 1
    assert result["attendance.participants"] == 3
    assert result["participation.participating_members"] == 1


def test_participation_by_activity_type_counts_each_member_once_per_type(
    engine: sa.Engine,
) -> None:
    history = History()
    first = history.join(date(2022, 1, 1))
    second = history.join(date(2022, 1, 1))
    history.join(date(2022, 1, 1))  # takes part in nothing
    formations = [history.schedule(date(2023, 10, day), "formation") for day in (1, 2)]
    parcours = history.schedule(date(2023, 11, 1), "parcours_coop")
    for activity in formations:
        history.attend(activity, first)
    history.attend(formations[0], second)
    history.attend(parcours, second, 6)

    result = indicators(engine, history)

    assert result["participation.by_activity_type"] == {
        **dict.fromkeys(ACTIVITY_TYPES, 0),
        "formation": 2,
        "parcours_coop": 1,
    }
    assert result["participation.participating_members"] == 2
    assert result["participation.rate"] == 0.6667
    assert result["attendance.member_attendances"] == 4
    assert result["attendance.participants"] == 9


def test_a_member_that_joined_after_attending_counts_in_participation_if_active_on_cutoff(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2022, 1, 1))
    activity = history.schedule(date(2023, 10, 1))
    history.attend(activity, coop)
    history.leave(coop, date(2023, 11, 1))
    history.rejoin(coop, date(2024, 5, 1))

    assert indicators(engine, history)["participation.participating_members"] == 1
    assert indicators(engine, as_of=date(2024, 4, 30))["participation.participating_members"] == 0


# --- outreach and parcours ---------------------------------------------------------------------


def test_public_attendance_is_counted_in_its_own_region_else_the_activity_s(
    engine: sa.Engine,
) -> None:
    history = History()
    rimouski = history.schedule(date(2023, 10, 12), "cine_discussion", region="01")
    history.public(rimouski, 30)  # counted in 01, the activity's region
    history.public(rimouski, 12, "03")  # counted in 03
    online = history.schedule(
        date(2023, 11, 12), "cine_discussion", region=None, activity_format="remote"
    )
    history.public(online, 25)  # no region at all
    history.public(online, 8, "01")
    history.schedule(date(2023, 11, 20), "cine_discussion", region="09")  # no audience

    result = indicators(engine, history)

    assert result["outreach.cine_discussions"] == 3
    assert result["outreach.people_reached"] == 75
    assert result["outreach.regions"] == 2


def test_public_attendance_at_other_activity_types_is_not_outreach(engine: sa.Engine) -> None:
    history = History()
    history.public(history.schedule(date(2023, 10, 12), "conference", region="04"), 50)

    result = indicators(engine, history)

    assert result["outreach.people_reached"] == 0
    assert result["outreach.regions"] == 0
    assert result["parcours.participants"] == 0


def test_public_attendance_is_dated_by_its_activity(engine: sa.Engine) -> None:
    history = History()
    history.public(history.schedule(S - timedelta(days=1), "cine_discussion"), 50)
    history.public(history.schedule(date(2024, 2, 1), "cine_discussion"), 20)
    history.public(history.schedule(date(2024, 2, 2), "cine_discussion"), 10)

    result = indicators(engine, history, as_of=date(2024, 2, 1))

    assert result["outreach.cine_discussions"] == 1
    assert result["outreach.people_reached"] == 20


def test_partners_of_film_discussions_are_distinct_once_trimmed_and_case_folded(
    engine: sa.Engine,
) -> None:
    history = History()
    history.schedule(
        date(2023, 10, 1),
        "cine_discussion",
        partners=["Pôle d'économie sociale", "  Maison de la culture "],
    )
    history.schedule(
        date(2023, 10, 2),
        "cine_discussion",
        partners=["PÔLE D'ÉCONOMIE SOCIALE ", "Große Straße", "maison de la culture"],
    )
    history.schedule(date(2023, 10, 3), "cine_discussion", partners=["GROSSE STRASSE"])
    history.schedule(date(2023, 10, 4), "formation", partners=["Only at a formation"])
    history.cancel(
        history.schedule(date(2023, 10, 5), "cine_discussion", partners=["Cancelled partner"])
    )

    result = indicators(engine, history)

    assert result["outreach.partners"] == 3


def test_parcours_coop_sessions_participants_and_regions(engine: sa.Engine) -> None:
    history = History()
    quebec = history.schedule(date(2023, 9, 20), "parcours_coop", region="03")
    history.public(quebec, 11)
    history.public(quebec, 4, "12")
    montreal = history.schedule(date(2024, 4, 20), "parcours_coop", region="06")
    history.public(montreal, 9)
    history.cancel(history.schedule(date(2024, 5, 20), "parcours_coop", region="05"))
    history.public(history.schedule(date(2024, 6, 1), "cine_discussion", region="07"), 100)

    result = indicators(engine, history)

    assert result["parcours.sessions"] == 2
    assert result["parcours.participants"] == 24
    assert result["parcours.regions"] == 3
    assert result["outreach.people_reached"] == 100


# --- ambassadors -------------------------------------------------------------------------------


def test_ambassadors_mobilized_actions_and_people_reached_in_the_year(engine: sa.Engine) -> None:
    history = History()
    coop = history.join(date(2022, 1, 1))
    first = history.enroll(coop, date(2022, 6, 1))
    second = history.enroll(coop, date(2023, 6, 1))
    idle = history.enroll(coop, date(2023, 6, 1))
    history.act(first, date(2023, 9, 1), 10)
    history.act(first, date(2024, 1, 15), None)  # people_reached not given: 0
    history.act(second, date(2023, 12, 1), 25, kind="cine_discussion")
    history.act(second, S - timedelta(days=1), 100)  # before the year
    history.act(idle, date(2024, 1, 16), 7)  # after the cut-off

    result = indicators(engine, history, as_of=date(2024, 1, 15))

    assert result["ambassadors.mobilized"] == 2
    assert result["ambassadors.actions"] == 3
    assert result["ambassadors.people_reached"] == 35


def test_actions_of_an_ambassador_who_retired_later_still_count(engine: sa.Engine) -> None:
    history = History()
    ambassador = history.enroll(history.join(date(2022, 1, 1)), date(2023, 1, 1))
    history.act(ambassador, date(2023, 10, 1), 5)
    history.retire(ambassador, date(2023, 11, 1))

    result = indicators(engine, history)

    assert result["ambassadors.mobilized"] == 1
    assert result["ambassadors.actions"] == 1
    assert result["ambassadors.people_reached"] == 5
    assert result["ambassadors.active"] == 0


def test_active_ambassadors_are_enrolled_on_or_before_the_cutoff_and_not_yet_ended(
    engine: sa.Engine,
) -> None:
    cutoff = date(2024, 1, 15)
    history = History()
    coop = history.join(date(2022, 1, 1))
    history.enroll(coop, cutoff)  # active: enrolled on C
    history.enroll(coop, date(2020, 1, 1))  # active: enrolled before the year
    history.enroll(coop, cutoff + timedelta(days=1))  # not yet enrolled
    history.retire(history.enroll(coop, date(2023, 1, 1)), cutoff)  # ended on C
    history.retire(history.enroll(coop, date(2023, 1, 1)), cutoff + timedelta(days=1))  # active
    history.deactivate(history.enroll(coop, date(2023, 1, 1)), date(2023, 12, 1))  # ended

    result = indicators(engine, history, as_of=cutoff)

    assert result["ambassadors.active"] == 3


# --- projection --------------------------------------------------------------------------------


def test_unknown_event_types_are_ignored(engine: sa.Engine) -> None:
    history = History()
    history.event("CoopNicknamed", str(uuid.uuid4()), {"nickname": "x"})
    history.join(date(2022, 1, 1))

    assert indicators(engine, history)["members.total"] == 1


def test_malformed_events_raise_a_projection_error(engine: sa.Engine) -> None:
    coop = str(uuid.uuid4())
    bad: list[dict[str, Any]] = [
        {"event_type": "CoopJoined", "aggregate_id": coop, "data": {"cooperative_id": coop}},
        {"event_type": "CoopLeft", "aggregate_id": coop, "data": {"left_on": "31/08/2024"}},
        {"event_type": "CoopJoined", "aggregate_id": coop, "data": None},
        {"aggregate_id": coop, "data": {}},
        {
            "event_type": "PublicAttendanceRecorded",
            "event_id": str(uuid.uuid4()),
            "aggregate_id": coop,
            "data": {"activity_id": coop, "count": "many"},
        },
    ]
    for envelope in bad:
        with engine.begin() as conn, pytest.raises(ProjectionError):
            apply_event(conn, 1, envelope)


def test_attendance_received_before_its_activity_is_kept(engine: sa.Engine) -> None:
    history = History()
    coop = history.join(date(2022, 1, 1))
    activity = str(uuid.uuid4())
    history.attend(activity, coop, 2, activity_type="formation", activity_date=date(2023, 10, 1))
    history.public(activity, 7, None)
    history.schedule(date(2023, 10, 1), "cine_discussion", region="02", activity=activity)

    result = indicators(engine, history)

    assert result["attendance.member_attendances"] == 1
    assert result["attendance.participants"] == 2
    assert result["outreach.people_reached"] == 7
    assert result["outreach.regions"] == 1


def test_attendance_without_an_activity_date_takes_it_from_the_activity_scheduled_later(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2022, 1, 1))
    activity = str(uuid.uuid4())
    history.attend(activity, coop, 2)  # neither type nor date known yet
    history.schedule(date(2023, 10, 1), "formation", activity=activity)

    result = indicators(engine, history)

    assert result["attendance.member_attendances"] == 1
    assert result["participation.by_activity_type"]["formation"] == 1


def test_a_cancellation_received_before_its_activity_keeps_it_cancelled(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2022, 1, 1))
    activity = str(uuid.uuid4())
    history.cancel(activity)
    history.attend(activity, coop, 2, activity_type="formation", activity_date=date(2023, 10, 1))
    history.schedule(date(2023, 10, 1), "formation", activity=activity)

    result = indicators(engine, history)

    assert result["activities.total"] == 0
    assert result["attendance.member_attendances"] == 0
    assert result["participation.participating_members"] == 0


def test_an_activity_known_only_from_its_attendance_is_not_counted_until_scheduled(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2022, 1, 1))
    activity = str(uuid.uuid4())
    history.attend(activity, coop, 2, activity_type="formation", activity_date=date(2023, 10, 1))

    before = indicators(engine, history)
    schedule = History()
    schedule.schedule(date(2023, 10, 1), "formation", activity=activity)
    after = indicators(engine, schedule)

    assert before["activities.total"] == 0
    assert before["attendance.member_attendances"] == 1
    assert after["activities.total"] == 1
    assert after["attendance.member_attendances"] == 1
    assert after["attendance.participants"] == 2


def test_a_repeated_attendance_of_the_same_cooperative_replaces_its_record(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = history.join(date(2022, 1, 1))
    activity = history.schedule(date(2023, 10, 1))
    history.attend(activity, coop, 2)
    history.attend(activity, coop, 5)

    result = indicators(engine, history)

    assert result["attendance.member_attendances"] == 1
    assert result["attendance.participants"] == 5


def test_attendance_without_participants_counts_one_participant(engine: sa.Engine) -> None:
    history = History()
    coop = history.join(date(2022, 1, 1))
    activity = history.schedule(date(2023, 10, 1))
    history.event(
        "ActivityAttended",
        activity,
        {
            "activity_id": activity,
            "cooperative_id": coop,
            "activity_type": "formation",
            "activity_date": "2023-10-01",
        },
    )

    assert indicators(engine, history)["attendance.participants"] == 1


def test_an_ambassador_end_received_before_the_enrolment_is_kept(engine: sa.Engine) -> None:
    history = History()
    ambassador = str(uuid.uuid4())
    history.retire(ambassador, date(2023, 12, 1))
    history.event(
        "AmbassadorEnrolled",
        ambassador,
        {"ambassador_id": ambassador, "cooperative_id": None, "enrolled_on": "2023-01-01"},
    )

    assert indicators(engine, history)["ambassadors.active"] == 0
    assert indicators(engine, as_of=date(2023, 11, 30))["ambassadors.active"] == 1


def test_a_departure_of_an_unknown_cooperative_counts_as_left_but_not_as_member(
    engine: sa.Engine,
) -> None:
    history = History()
    coop = str(uuid.uuid4())
    history.leave(coop, date(2024, 1, 1))
    history.update_profile(coop, region="05")

    result = indicators(engine, history)

    assert result["members.left"] == 1
    assert result["members.total"] == 0
    assert result["members.joined"] == 0


def test_a_repeated_admission_event_opens_a_single_period(engine: sa.Engine) -> None:
    history = History()
    coop = history.join(date(2023, 10, 1))
    history.envelopes.append({**history.envelopes[-1], "event_id": str(uuid.uuid4())})
    history.rejoin(coop, date(2023, 10, 1))

    result = indicators(engine, history)

    assert result["members.joined"] == 1
    assert result["members.total"] == 1


def partnerships_history(history: History, coop: str) -> None:
    """A sector, a partner, a research project and a sector table with a member, an action
    and a retail placement."""
    history.event(
        "SectorDefined",
        str(uuid.uuid4()),
        {"slug": "microbrasserie", "label": {"fr": "Microbrasserie", "en": "Microbrewery"}},
    )
    partner = str(uuid.uuid4())
    history.event(
        "PartnerRegistered",
        partner,
        {
            "partner_id": partner,
            "name": "Dépanneur Exemple",
            "kind": "detaillant",
            "region": "06",
            "aliases": [],
            "website": None,
        },
    )
    project = str(uuid.uuid4())
    history.event(
        "ResearchProjectStarted",
        project,
        {
            "project_id": project,
            "title": "Étude",
            "theme": None,
            "partner_ids": [partner],
            "started_on": "2023-10-01",
        },
    )
    table = str(uuid.uuid4())
    for event_type, data in (
        (
            "SectorTableFormed",
            {"name": "Table", "sector": "microbrasserie", "formed_on": "2023-09-15"},
        ),
        ("SectorTableMemberAdded", {"cooperative_id": coop, "joined_on": "2023-09-20"}),
        (
            "SectorTableActionLogged",
            {
                "action_id": str(uuid.uuid4()),
                "kind": "visibilite",
                "title": "Salon",
                "performed_on": "2023-10-05",
                "partner_ids": [],
            },
        ),
        (
            "RetailPlacementSecured",
            {
                "placement_id": str(uuid.uuid4()),
                "retailer_id": partner,
                "started_on": "2023-11-01",
                "note": None,
            },
        ),
    ):
        history.event(event_type, table, {"table_id": table, **data})


def test_projecting_the_same_history_twice_gives_identical_facts(engine: sa.Engine) -> None:
    history = History()
    coop = history.join(date(2023, 9, 10), region="02")
    history.update_profile(coop, worker_members=9)
    history.leave(coop, date(2023, 11, 1))
    history.rejoin(coop, date(2024, 2, 1))
    activity = history.schedule(date(2023, 10, 1), "cine_discussion", partners=["A", " a "])
    history.attend(activity, coop, 2)
    history.public(activity, 5)
    ambassador = history.enroll(coop, date(2023, 9, 10))
    history.act(ambassador, date(2023, 10, 1), None)
    history.deactivate(ambassador, date(2023, 11, 1))
    partnerships_history(history, coop)

    project(engine, history, generation=1)
    project(engine, history, generation=2)

    with engine.connect() as conn:
        for table in FACT_TABLES:
            columns = [c for c in table.c if c.name != "generation"]
            rows = {
                g: sorted(
                    tuple(map(str, row))
                    for row in conn.execute(sa.select(*columns).where(table.c.generation == g))
                )
                for g in (1, 2)
            }
            assert rows[1] == rows[2], table.name
            assert rows[1], table.name


def test_generations_are_isolated_and_dropping_one_leaves_the_other(engine: sa.Engine) -> None:
    old = History()
    old.join(date(2022, 1, 1))
    new = History()
    new.join(date(2022, 1, 1))
    new.join(date(2022, 1, 1))
    project(engine, old, generation=1)
    project(engine, new, generation=2)

    assert indicators(engine, generation=1)["members.total"] == 1
    assert indicators(engine, generation=2)["members.total"] == 2

    with engine.begin() as conn:
        drop_generation(conn, 1)

    assert indicators(engine, generation=1)["members.total"] == 0
    assert indicators(engine, generation=2)["members.total"] == 2


# --- schema and BI views -----------------------------------------------------------------------


def test_create_schema_is_repeatable_and_starts_on_generation_one(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        create_schema(conn)
        assert active_generation(conn) == 1


def test_bi_views_read_the_active_generation(engine: sa.Engine) -> None:
    old = History()
    old.join(date(2022, 1, 1))
    new = History()
    coop = new.join(date(2022, 1, 1), region="01", sector="cinema", worker_members=4)
    new.leave(coop, date(2023, 1, 1))
    activity = new.schedule(date(2023, 10, 12), "cine_discussion", region="01", partners=["P"])
    new.attend(activity, coop, 3)
    new.public(activity, 20)
    new.public(activity, 5, "02")
    ambassador = new.enroll(coop, date(2022, 2, 1))
    new.act(ambassador, date(2022, 3, 1), None, activity=activity)
    new.deactivate(ambassador, date(2023, 1, 1))
    project(engine, old, generation=1)
    project(engine, new, generation=2)

    def view(name: str) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(f"SELECT * FROM {name}").mappings().all()
        return [{k: (str(v) if isinstance(v, date) else v) for k, v in r.items()} for r in rows]

    assert len(view("reporting_v_cooperatives")) == 1
    assert view("reporting_v_cooperatives")[0]["status"] == "active"

    with engine.begin() as conn:
        set_active_generation(conn, 2)
        create_bi_views(conn)  # idempotent: drops and creates

    [cooperative] = view("reporting_v_cooperatives")
    assert cooperative["cooperative_id"] == coop
    assert cooperative["status"] == "left"
    assert str(cooperative["joined_on"]) == "2022-01-01"
    assert str(cooperative["left_on"]) == "2023-01-01"
    assert cooperative["region"] == "01"
    [period] = view("reporting_v_membership_periods")
    assert str(period["end_on"]) == "2023-01-01"
    [listed] = view("reporting_v_activities")
    assert listed["status"] == "scheduled"
    assert listed["member_attendances"] == 1
    assert listed["participants"] == 3
    assert listed["public_attendance"] == 25
    assert [p["partner"] for p in view("reporting_v_activity_partners")] == ["P"]
    [attendance] = view("reporting_v_attendance")
    assert attendance["activity_type"] == "cine_discussion"
    assert attendance["participants"] == 3
    public = sorted(view("reporting_v_public_attendance"), key=lambda r: r["attendee_count"])
    assert [(p["attendee_count"], p["recorded_region"], p["region"]) for p in public] == [
        (5, "02", "02"),
        (20, None, "01"),
    ]
    [listed_ambassador] = view("reporting_v_ambassadors")
    assert listed_ambassador["status"] == "deactivated"
    assert listed_ambassador["actions"] == 1
    assert listed_ambassador["people_reached"] == 0
    [action] = view("reporting_v_ambassador_actions")
    assert action["activity_id"] == activity


def test_every_documented_view_exists(engine: sa.Engine) -> None:
    names = set(bi_view_names())

    assert {
        "reporting_v_cooperatives",
        "reporting_v_activities",
        "reporting_v_attendance",
        "reporting_v_public_attendance",
        "reporting_v_ambassadors",
        "reporting_v_ambassador_actions",
    } <= names
    assert names <= set(sa.inspect(engine).get_view_names())
