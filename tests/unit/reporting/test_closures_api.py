"""The reporting API's closures, targets, series and parameters, on a fake projection.

The fact model and the projector are stand-ins here (the figures they answer are fixed), so
these tests state what the API does with them: when a closure waits or refuses, which field a
422 names, what `as_recorded` and `view` change, how progress is rounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.reporting import api as reporting_api
from services.reporting import facts
from services.reporting.api import install_errors, routes
from services.reporting.closures import Records, changes_since, progress, with_progress
from services.reporting.fiscal_year import FiscalYear, current_fiscal_year, parse_fiscal_year
from shared.consumer import ConsumerStatus
from shared.http import Edge, FailedAuthLimiter, create_api
from shared.metrics import ServiceMetrics
from shared.persistence import Database
from shared.settings import TokenTable, digest

ADMIN = {"Authorization": "Bearer admin"}
TOKENS = TokenTable(
    {digest("admin"): frozenset({"reporting:admin"}), digest("reader"): frozenset({"read"})}
)
YEAR = "2023-2024"


class FakeReadModel:
    """Answers fixed figures; remembers what it was asked."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.total = 10
        self.calls: list[dict[str, Any]] = []

    def fiscal_year(self, label: str) -> FiscalYear:
        return parse_fiscal_year(label)

    def current_fiscal_year(self) -> FiscalYear:
        return current_fiscal_year()

    def indicators(
        self, year: FiscalYear, as_of: date | None = None, **keywords: Any
    ) -> dict[str, Any]:
        self.calls.append({"year": year.label, "as_of": as_of, **keywords})
        cutoff = year.cutoff(as_of)
        return {
            "fiscal_year": year.label,
            "start": year.start.isoformat(),
            "end": year.end.isoformat(),
            "as_of": cutoff.isoformat(),
            "indicators": {
                "members.total": self.total,
                "participation.rate": 0.5,
                "members.by_region": {"01": self.total, "02": 0},
                "members.by_sector": {"microbrasserie": 1, "cirque": 1},
            },
            "freshness": {"membership": {"last_sequence": 1, "last_event_at": None}},
        }


class FakeProjector:
    """A projection that applies one message per status read, up to `stream_last`."""

    def __init__(self) -> None:
        self.live: object | None = object()
        self.applied = 0
        self.stream_last = 0
        self.rebuilding = False

    async def statuses(self) -> dict[str, ConsumerStatus]:
        status = ConsumerStatus(self.applied, self.stream_last, 0)
        self.applied = min(self.stream_last, self.applied + 1)
        return {"COOP_MEMBERSHIP": status}


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[TestClient, FakeReadModel, FakeProjector, Records]]:
    database = Database(f"sqlite:///{tmp_path / 'reporting.sqlite3'}", app_name="reporting")
    database.create_tables()
    with database.writing() as conn:
        facts.create_schema(conn)
    records = Records(database)
    read_model = FakeReadModel(database)
    projector = FakeProjector()
    edge = Edge(TOKENS, database, ServiceMetrics("reporting-test"), FailedAuthLimiter())

    async def ready() -> bool:
        return True

    app = create_api(title="reporting", edge=edge, readiness=ready)
    app.include_router(routes(read_model, projector, records))  # type: ignore[arg-type]
    install_errors(app)
    with TestClient(app) as client:
        yield client, read_model, projector, records
    records.close()
    database.dispose()


def field_of(answer: Any) -> str:
    assert answer.status_code == 422, answer.text
    field: str = answer.json()["errors"][0]["field"]
    return field


def test_a_closure_waits_until_the_projection_has_applied_what_was_on_the_streams(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    client, _, projector, records = parts
    projector.stream_last = 5
    closed = client.post(f"/v1/fiscal-years/{YEAR}/closure", headers=ADMIN)
    assert closed.status_code == 201
    assert projector.applied == 5
    assert records.closure(YEAR) is not None


def test_a_closure_answers_503_and_stores_nothing_when_the_projection_cannot_catch_up(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, _, projector, records = parts
    monkeypatch.setattr(reporting_api, "CATCH_UP_SECONDS", 0.3)
    projector.stream_last = 10**9
    refused = client.post(f"/v1/fiscal-years/{YEAR}/closure", headers=ADMIN)
    assert refused.status_code == 503
    assert refused.headers["retry-after"].isdigit()
    assert records.closure(YEAR) is None
    assert records.labels() == set()


def test_a_closed_year_answers_stored_figures_until_asked_live(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    client, read_model, _, _ = parts
    assert client.post(f"/v1/fiscal-years/{YEAR}/closure", json={"note": "AG"}, headers=ADMIN)
    read_model.total = 12
    stored = client.get(f"/v1/indicators/{YEAR}").json()
    assert stored["view"] == "stored" and stored["indicators"]["members.total"] == 10
    assert stored["closure"]["note"] == "AG"
    for query in ("view=live", "as_of=2024-08-31", "as_recorded=2024-09-01T00:00:00Z"):
        live = client.get(f"/v1/indicators/{YEAR}?{query}").json()
        assert live["view"] == "live" and live["indicators"]["members.total"] == 12
        assert live["closure"]["note"] == "AG"
    assert client.get(f"/v1/indicators/{YEAR}?view=stored").json()["view"] == "stored"
    csv_text = client.get(f"/v1/indicators/{YEAR}.csv").text
    assert "members.total,,10" in csv_text


def test_as_recorded_is_passed_through_as_a_keyword_and_echoed_in_utc(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    client, read_model, _, _ = parts
    answer = client.get(f"/v1/indicators/{YEAR}?as_recorded=2024-09-01T08:30:00.25-04:00")
    assert answer.status_code == 200
    assert answer.json()["as_recorded"] == "2024-09-01T12:30:00.250000Z"
    moment = read_model.calls[-1]["as_recorded"]
    assert isinstance(moment, datetime) and moment.utcoffset() is not None
    assert client.get(f"/v1/indicators/{YEAR}").json()["as_recorded"] is None
    assert "as_recorded" not in read_model.calls[-1]


@pytest.mark.parametrize(
    "value", ["2024-09-01", "yesterday", "2024-09-01T25:00:00Z", "2024-09-01T10:00:00"]
)
def test_an_as_recorded_that_is_not_an_rfc3339_timestamp_is_refused_naming_the_field(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records], value: str
) -> None:
    client = parts[0]
    for path in (f"/v1/indicators/{YEAR}", f"/v1/indicators/{YEAR}.csv", f"/v1/reports/{YEAR}"):
        assert field_of(client.get(path, params={"as_recorded": value})) == "as_recorded"


def test_a_view_other_than_live_or_stored_is_refused(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    assert field_of(parts[0].get(f"/v1/indicators/{YEAR}?view=frozen")) == "view"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"to": YEAR}, "from"),
        ({"from": YEAR}, "to"),
        ({"from": "2024-2025", "to": YEAR}, "from"),
        ({"from": "2010-2011", "to": "2020-2021"}, "to"),
        ({"from": "2023", "to": YEAR}, "from"),
    ],
)
def test_a_series_needs_both_ends_in_order_and_at_most_ten_years(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
    query: dict[str, str],
    field: str,
) -> None:
    assert field_of(parts[0].get("/v1/indicators", params=query)) == field


def test_a_series_of_ten_years_both_ends_included_is_answered(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    answer = parts[0].get("/v1/indicators", params={"from": "2014-2015", "to": YEAR})
    assert answer.status_code == 200 and len(answer.json()["years"]) == 10


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"members.unknown": 3}, "members.unknown"),
        ({"members.by_region": 3}, "members.by_region"),
        ({"members.total": -1}, "members.total"),
        ({"members.total": "150"}, "members.total"),
        ({"members.total": True}, "members.total"),
        ({"participation.rate": 1.5}, "participation.rate"),
    ],
)
def test_targets_are_refused_naming_the_indicator(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
    body: dict[str, Any],
    field: str,
) -> None:
    client, _, _, records = parts
    assert field_of(client.put(f"/v1/targets/{YEAR}", json=body, headers=ADMIN)) == field
    assert records.labels() == set()


def test_setting_the_same_targets_again_records_nothing(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    client, _, _, records = parts
    body = {"members.total": 150}
    assert client.put(f"/v1/targets/{YEAR}", json=body, headers=ADMIN).status_code == 200
    year = records.year(YEAR)
    assert year is not None
    version = year.version
    assert client.put(f"/v1/targets/{YEAR}", json=body, headers=ADMIN).status_code == 200
    again = records.year(YEAR)
    assert again is not None and again.version == version
    assert client.put(f"/v1/targets/{YEAR}", json=body).status_code == 401


def test_progress_is_value_over_target_rounded_half_even_to_four_places() -> None:
    assert progress(125, 150) == 0.8333
    assert progress(1, 3) == 0.3333
    assert progress(2, 3) == 0.6667
    assert progress(0.00005, 1) == 0.0  # half-even: 0.00005 → 0.0000
    assert progress(0.00015, 1) == 0.0002  # half-even: 0.00015 → 0.0002
    assert progress(0.912, 0.95) == 0.96
    assert progress(7, 0) is None
    assert with_progress({"members.total": 125}, {"members.total": 150}) == {
        "members.total": {"target": 150, "progress": 0.8333}
    }


def test_changes_since_closure_read_a_missing_key_as_zero() -> None:
    closed = {"members.total": 2, "members.by_sector": {"microbrasserie": 2}}
    live = {"members.total": 2, "members.by_sector": {"microbrasserie": 2, "design": 1}}
    assert changes_since(closed, live) == [
        {"indicator": "members.by_sector", "key": "design", "closed": 0, "live": 1}
    ]


def test_the_favicon_is_served(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    for path in ("/favicon.svg", "/favicon.ico"):
        answer = parts[0].get(path)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("image/svg+xml")


def test_the_report_and_dashboard_follow_accept_language_unless_lang_is_given(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    client = parts[0]
    for path in (f"/v1/reports/{YEAR}", "/"):
        english = client.get(path, headers={"Accept-Language": "en-CA,fr;q=0.5"})
        assert english.headers["content-language"] == "en"
        assert "Accept-Language" in english.headers["vary"]
        assert '<html lang="en">' in english.text
        french = client.get(path + "?lang=fr", headers={"Accept-Language": "en"})
        assert french.headers["content-language"] == "fr"
        assert field_of(client.get(path + "?lang=de")) == "lang"


def test_every_indicators_form_refuses_a_language_other_than_fr_or_en(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    client = parts[0]
    for path in (
        f"/v1/indicators/{YEAR}",
        f"/v1/indicators/{YEAR}.csv",
        "/v1/indicators?from=2022-2023&to=2023-2024",
        "/v1/indicators.csv?from=2022-2023&to=2023-2024",
    ):
        separator = "&" if "?" in path else "?"
        assert field_of(client.get(f"{path}{separator}lang=de")) == "lang", path
        answered = client.get(f"{path}{separator}lang=en")
        assert answered.status_code == 200, (path, answered.text)
        assert answered.headers["content-language"] == "en"


def test_the_views_show_the_sector_labels_the_read_model_learned_else_the_vocabularys(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    client, read_model, _, _ = parts
    read_model.sector_labels = lambda: {  # type: ignore[attr-defined]
        "cirque": {"fr": "Arts du cirque", "en": "Circus arts"}
    }
    page = client.get("/?lang=en").text
    assert "Circus arts" in page and "Microbreweries" in page
    report = client.get(f"/v1/reports/{YEAR}?lang=fr", headers={"Accept": "text/markdown"})
    assert "| Arts du cirque | 1 |" in report.text


GENERIC_FRENCH = {"La requête ne respecte pas une règle.", "Cette valeur est refusée."}


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "field", "french", "english"),
    [
        ("get", f"/v1/indicators/{YEAR}", {"view": "bogus"}, None, "view",
         "doit être live ou stored", "must be live or stored"),
        ("get", f"/v1/indicators/{YEAR}", {"as_recorded": "hier"}, None, "as_recorded",
         "doit être un horodatage RFC 3339, par exemple 2024-09-15T12:00:00Z",
         "must be an RFC 3339 timestamp, e.g. 2024-09-15T12:00:00Z"),
        ("get", "/v1/indicators", {"from": YEAR}, None, "to",
         "est requis", "is required"),
        ("get", "/v1/indicators", {"from": "2024-2025", "to": YEAR}, None, "from",
         "ne peut suivre to", "must not be after to"),
        ("get", "/v1/indicators", {"from": "2010-2011", "to": "2020-2021"}, None, "to",
         "une série couvre au plus 10 années", "a series spans at most 10 years"),
        ("put", f"/v1/targets/{YEAR}", None, {"members.unknown": 3}, "members.unknown",
         "n'est pas un indicateur", "is not an indicator"),
        ("put", f"/v1/targets/{YEAR}", None, {"members.by_region": 3}, "members.by_region",
         "n'est pas un indicateur scalaire", "is not a scalar indicator"),
        ("put", f"/v1/targets/{YEAR}", None, {"members.total": "150"}, "members.total",
         "doit être un nombre", "must be a number"),
        ("put", f"/v1/targets/{YEAR}", None, {"members.total": -1}, "members.total",
         "doit être un nombre ≥ 0", "must be a number ≥ 0"),
        ("put", f"/v1/targets/{YEAR}", None, {"participation.rate": 1.5}, "participation.rate",
         "un taux vaut au plus 1", "a rate is at most 1"),
        ("put", f"/v1/targets/{YEAR}", None, [1], "",
         "Le corps doit être un objet JSON {indicateur: nombre}.",
         "The body must be a JSON object {indicator: number}."),
    ],
)  # fmt: skip
def test_a_refused_parameter_or_target_is_named_specifically_in_both_languages(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: Any,
    field: str,
    french: str,
    english: str,
) -> None:
    client = parts[0]

    def ask(headers: dict[str, str]) -> Any:
        return client.request(method, path, params=params, json=body, headers=headers)

    fr, en = ask(ADMIN).json(), ask({**ADMIN, "Accept-Language": "en"}).json()

    assert (fr["type"], fr["status"]) == (en["type"], en["status"])
    assert fr["errors"][0] == {"field": field, "message": french}
    assert en["errors"][0] == {"field": field, "message": english}
    assert fr["detail"] not in GENERIC_FRENCH


def test_closing_a_year_that_has_not_ended_says_when_it_ends_in_both_languages(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    client = parts[0]
    year = current_fiscal_year()
    path = f"/v1/fiscal-years/{year.label}/closure"

    fr = client.post(path, headers=ADMIN).json()
    en = client.post(path, headers={**ADMIN, "Accept-Language": "en"}).json()

    assert fr["type"] == en["type"] and fr["type"].endswith("/year-not-ended")
    assert fr["title"] == "Année non terminée" and en["title"] == "Year not ended"
    end = year.end.isoformat()
    assert fr["detail"] == (
        f"{year.label} prend fin le {end} : une année se clôture une fois terminée."
    )
    assert en["detail"] == f"{year.label} ends on {end}: a year is closed once it has ended."
    assert fr["errors"] == [
        {"field": "fiscal_year", "message": "l'année n'est pas encore terminée"}
    ]


def test_every_page_is_gzipped_and_has_a_description_and_a_favicon(
    parts: tuple[TestClient, FakeReadModel, FakeProjector, Records],
) -> None:
    client = parts[0]
    pages = [
        f"{path}{query}"
        for path in ("/", f"/?year={YEAR}", f"/v1/reports/{YEAR}", f"/v1/reports/{YEAR}?view=live")
        for query in ("", "&lang=en" if "?" in path else "?lang=en")
    ]
    for page in pages:
        answer = client.get(page, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200, (page, answer.text)
        assert answer.headers["content-encoding"] == "gzip", page
        assert "Accept-Encoding" in answer.headers["vary"], page
        description = re.search(r'<meta name="description" content="([^"]+)"', answer.text)
        assert description is not None and len(description.group(1)) > 40, page
        icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml"', answer.text)
        assert icon is not None, page
        favicon = client.get(icon.group(1))
        assert favicon.status_code == 200 and favicon.text.startswith("<svg"), page
    # Without Accept-Encoding, the same page comes plain.
    plain = client.get("/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
