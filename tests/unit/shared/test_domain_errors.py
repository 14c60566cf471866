"""Domain errors become problem details one way: the service's table of refusals."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.ambassadors.api import ERRORS as AMBASSADORS_ERRORS
from services.events.api import ERRORS as EVENTS_ERRORS
from services.membership import domain as membership
from services.membership.api import ERRORS as MEMBERSHIP_ERRORS
from services.partnerships import domain as partnerships
from services.partnerships.api import ERRORS as PARTNERSHIPS_ERRORS
from shared.http import domain_problem, install_domain_errors
from shared.problems import Problem

TABLES: dict[str, dict[Any, Any]] = {
    "membership": MEMBERSHIP_ERRORS,
    "events": EVENTS_ERRORS,
    "ambassadors": AMBASSADORS_ERRORS,
    "partnerships": PARTNERSHIPS_ERRORS,
}
# Refusals whose row names no field: the field leads each message they are raised with.
MESSAGES: dict[type[Exception], tuple[str, ...]] = {
    partnerships.TableDateError: (
        "left_on must be after the member's joined_on",
        "ended_on cannot be before the placement's started_on",
        "dissolved_on cannot be before formed_on",
    ),
}
BUSINESS_RULES = [
    (service, kind, message)
    for service, table in TABLES.items()
    for kind, (status, _, _) in table.items()
    if status == 422
    for message in MESSAGES.get(kind, ("the rule is broken",))
]


@pytest.mark.parametrize(
    ("service", "kind", "message"),
    BUSINESS_RULES,
    ids=[f"{service}-{kind.__name__}-{i}" for i, (service, kind, _) in enumerate(BUSINESS_RULES)],
)
def test_every_business_rule_422_names_the_field_at_fault(
    service: str, kind: type[Exception], message: str
) -> None:
    error = (
        kind(message, message.split()[0])
        if issubclass(kind, partnerships.DateOrderError)
        else kind(message)
    )
    document = domain_problem(error, TABLES[service]).body("en")

    assert document["status"] == 422
    assert all(error["field"] for error in document["errors"])


def test_a_domain_error_that_names_its_fields_is_answered_field_by_field() -> None:
    error = membership.PeriodsError(
        "periods[1].start: the period overlaps the previous one",
        [("periods[1].start", "the period overlaps the previous one")],
    )

    document = domain_problem(error, MEMBERSHIP_ERRORS).body("en")

    assert document["type"].endswith("/invalid-periods")
    assert document["errors"] == [
        {"field": "periods[1].start", "message": "the period overlaps the previous one"}
    ]


class _ThingsError(Exception):
    """Base of the test domain's refusals."""


class _ThingGoneError(_ThingsError):
    """No such thing."""


class _ThingTakenError(_ThingsError):
    """Another thing has this name."""


class _UnlistedError(_ThingsError):
    """A refusal the table forgot."""


def _client() -> TestClient:
    app = FastAPI()
    install_domain_errors(
        app,
        _ThingsError,
        {_ThingGoneError: (404, None, ""), _ThingTakenError: (409, "thing-taken", "")},
        extensions=lambda error: (
            {"existing_id": "t-1"} if isinstance(error, _ThingTakenError) else None
        ),
    )

    @app.get("/gone")
    def gone() -> None:
        raise _ThingGoneError("no thing t-2")

    @app.get("/taken")
    def taken() -> None:
        raise _ThingTakenError("the name is taken")

    @app.get("/unlisted")
    def unlisted() -> None:
        raise _UnlistedError("name must be shorter")

    return TestClient(app)


def test_installed_domain_errors_answer_with_their_status_type_and_extensions() -> None:
    client = _client()

    gone, taken, unlisted = (client.get(path) for path in ("/gone", "/taken", "/unlisted"))

    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert taken.status_code == 409
    assert taken.json()["type"].endswith("/thing-taken")
    assert taken.json()["existing_id"] == "t-1"
    assert unlisted.status_code == 422
    assert unlisted.json()["errors"][0]["field"] == "name"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("cut-off 2024-01-01 is outside 2023-2024 (2023-09-01 to 2024-08-31)", "as_of"),
        ("'2023' is not written YYYY-YYYY", "fiscal_year"),
        ("'2023-2025' is not two consecutive years", "fiscal_year"),
        ("1800 is out of range", "fiscal_year"),
    ],
)
def test_a_fiscal_year_refusal_raised_without_a_field_still_names_it(
    message: str, field: str
) -> None:
    document = Problem(422, message).body("en")

    assert [error["field"] for error in document["errors"]] == [field]
