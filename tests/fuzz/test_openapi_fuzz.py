"""Schemathesis against each service's own OpenAPI, on real `coop serve` processes.

Every operation is exercised with generated valid and invalid requests (examples, coverage and
fuzzing phases). Each answer must not be a 5xx, must conform to the status codes, content types,
headers and schemas its OpenAPI declares, and every error must be problem+json with
type/title/status/detail (and `errors` on a 422).
"""

from __future__ import annotations

import itertools
import os
import tempfile
import uuid
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from services.registry import builder
from shared.settings import ServiceSettings
from tests.fuzz.platform import ADMIN, SERVICES, Platform

pytestmark = pytest.mark.e2e

# Bounded so that the whole fuzz suite stays under two minutes; raise them for a deeper run.
MAX_EXAMPLES = int(os.environ.get("COOP_FUZZ_EXAMPLES", "60"))
SEED = int(os.environ.get("COOP_FUZZ_SEED", "20240901"))

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "no-shrink": True,
            "database": "none",
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            # The business answers a well-formed request may get (unknown id, a rule of §2-§4).
            "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "409", "412", "422"]},
            # Authentication is the security suite's; the fuzzer always sends a valid token.
            "ignored_auth": {"enabled": False},
        },
        "request-timeout": 20,
    }
)

# Path parameters that name records: a share of the valid cases target a seeded record, so that
# generated bodies reach the use cases instead of stopping at 404.
RECORD_OF_PARAMETER = {
    "cooperative_id": "cooperative",
    "activity_id": "activity",
    "ambassador_id": "ambassador",
    "partner_id": "partner",
    "project_id": "project",
    "table_id": "table",
}


def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every answer that is not 2xx/3xx is problem+json with type, title, status and detail."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {content_type!r}"
    )
    body = response.json()
    assert isinstance(body, dict), body
    for member in ("type", "title", "status", "detail"):
        assert member in body, f"problem without {member}: {body}"
    assert body["status"] == response.status_code, body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str), body
    assert str(body["type"]).startswith("https://"), body
    if response.status_code == 422:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, f"a 422 without errors: {body}"
        for item in errors:
            assert set(item) >= {"field", "message"}, body
    return None


def served_openapi(service: str) -> dict[str, Any]:
    """The OpenAPI a service's composition root serves (built once, on a throwaway store)."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = ServiceSettings.from_env(service, {"COOP_DATA_DIR": data_dir})
        built = builder(service)(settings)
        assert built.api is not None
        document: dict[str, Any] = built.api.openapi()
        for close in built.closers:
            close()
        built.database.dispose()
    return document


OPENAPI = {service: served_openapi(service) for service in SERVICES}


def test_each_service_serves_the_openapi_that_is_fuzzed(platform: Platform) -> None:
    for service in SERVICES:
        assert platform.openapi(service) == OPENAPI[service], service


_turn = itertools.count()


def _aim_at_seeded_records(case: Any, platform: Platform) -> None:
    """Every other valid path id is swapped for a seeded record of the same kind."""
    for name, value in list((case.path_parameters or {}).items()):
        kind = RECORD_OF_PARAMETER.get(name)
        if kind is None or not platform.seeded.get(kind):
            continue
        try:
            uuid.UUID(str(value))
        except ValueError:
            continue  # an invalid id stays: its 422 is what is being checked
        turn = next(_turn)
        if turn % 2 == 0:
            records = platform.seeded[kind]
            case.path_parameters[name] = records[turn // 2 % len(records)]


def _exercise(case: Any, platform: Platform, service: str) -> None:
    _aim_at_seeded_records(case, platform)
    case.call_and_validate(
        base_url=platform.url(service), headers=ADMIN, additional_checks=[problem_details]
    )


membership = schemathesis.openapi.from_dict(OPENAPI["membership"], config=CONFIG)
events = schemathesis.openapi.from_dict(OPENAPI["events"], config=CONFIG)
ambassadors = schemathesis.openapi.from_dict(OPENAPI["ambassadors"], config=CONFIG)
reporting = schemathesis.openapi.from_dict(OPENAPI["reporting"], config=CONFIG)
partnerships = schemathesis.openapi.from_dict(OPENAPI["partnerships"], config=CONFIG)


@membership.parametrize()
def test_membership_answers_every_generated_request_as_its_openapi_declares(
    case: Any, platform: Platform
) -> None:
    _exercise(case, platform, "membership")


@events.parametrize()
def test_events_answers_every_generated_request_as_its_openapi_declares(
    case: Any, platform: Platform
) -> None:
    _exercise(case, platform, "events")


@ambassadors.parametrize()
def test_ambassadors_answers_every_generated_request_as_its_openapi_declares(
    case: Any, platform: Platform
) -> None:
    _exercise(case, platform, "ambassadors")


@reporting.parametrize()
def test_reporting_answers_every_generated_request_as_its_openapi_declares(
    case: Any, platform: Platform
) -> None:
    _exercise(case, platform, "reporting")


@partnerships.parametrize()
def test_partnerships_answers_every_generated_request_as_its_openapi_declares(
    case: Any, platform: Platform
) -> None:
    _exercise(case, platform, "partnerships")


# --- stateful: sequences that follow the links inferred from the schemas ---------------------

STATEFUL_STEPS = int(os.environ.get("COOP_FUZZ_STATEFUL_EXAMPLES", "25"))
STATEFUL_CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {"database": "none", "with-security-parameters": False},
        "phases": {
            "stateful": {
                "enabled": True,
                "max-steps": 8,
                "inference": {"algorithms": ["location-headers", "dependency-analysis"]},
            }
        },
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "409", "412", "422"]},
            "ignored_auth": {"enabled": False},
            # DELETE …/personal-data erases the details, not the ambassador: the export then
            # answers 200 with nulls (contract §6), which this check would call a use after free.
            "use_after_free": {"enabled": False},
        },
    }
)


@pytest.mark.parametrize("service", ["membership", "events", "ambassadors", "partnerships"])
def test_sequences_of_linked_operations_stay_within_the_openapi(
    platform: Platform, service: str
) -> None:
    """Scenarios chain operations through inferred links (an id created, then read, changed…).

    The services keep their state between scenarios, so Hypothesis cannot always replay a
    scenario: like schemathesis' own runner, a replay that diverges (`Flaky`) is not a failure
    unless a check failed; every check failure is kept and reported.
    """
    schema = schemathesis.openapi.from_dict(OPENAPI[service], config=STATEFUL_CONFIG)
    machine: Any = schema.as_state_machine()
    links = [name for name in vars(machine) if "__" in name and not name.startswith("RANDOM")]
    assert links, f"no link inferred between {service} operations"
    base_url = platform.url(service)
    failures: list[BaseException] = []
    steps: list[str] = []

    class Scenario(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "headers": ADMIN}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            steps.append(case.operation.label)
            try:
                super().validate_response(response, case, [problem_details], **kwargs)
            except Exception as failure:
                failures.append(failure)
                raise

    try:
        Scenario.run(
            settings=hypothesis.settings(
                max_examples=STATEFUL_STEPS,
                stateful_step_count=8,
                deadline=None,
                database=None,
                phases=[hypothesis.Phase.generate],
                suppress_health_check=list(hypothesis.HealthCheck),
            )
        )
    except hypothesis.errors.Flaky:
        if failures:
            raise failures[0] from None
    assert not failures, failures[0]
    assert len(steps) >= 10, steps
    assert len(set(steps)) >= 3, f"the scenarios went through {set(steps)}"
