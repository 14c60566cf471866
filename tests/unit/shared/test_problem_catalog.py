"""Every refusal the services raise has its catalog message, in French and English (contract §1).

The services raise their refusals as English text with values in it; the catalog
(`shared.problem_messages`) must recognize each one by a template of its own, so that French
reads as specifically as English. These tests read the code to find every domain error class,
every message it is raised with, every problem type slug and every message the routes refuse
a request with: a new one without its template fails here, before an audit finds the French
placeholder (`La requête ne respecte pas une règle.`) in an answer.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from services.ambassadors import domain as ambassadors
from services.ambassadors.api import ERRORS as AMBASSADORS_ERRORS
from services.events import domain as events
from services.events.api import ERRORS as EVENTS_ERRORS
from services.membership import domain as membership
from services.membership.api import ERRORS as MEMBERSHIP_ERRORS
from services.partnerships import domain as partnerships
from services.partnerships.api import ERRORS as PARTNERSHIPS_ERRORS
from services.reporting import closures, fiscal_year
from services.reporting.indicators import INDICATOR_NAMES
from shared.http import domain_problem
from shared.i18n import translate
from shared.problem_messages import TEMPLATES, localize, recognize
from shared.problems import DOMAIN_TEXTS

ROOT = Path(__file__).resolve().parents[3]
BASES: tuple[type[Exception], ...] = (
    membership.MembershipError,
    events.EventsError,
    ambassadors.AmbassadorsError,
    partnerships.PartnershipsError,
    closures.ReportingRecordsError,
    fiscal_year.FiscalYearError,
)
TABLES: dict[str, dict[Any, Any]] = {
    "membership": MEMBERSHIP_ERRORS,
    "events": EVENTS_ERRORS,
    "ambassadors": AMBASSADORS_ERRORS,
    "partnerships": PARTNERSHIPS_ERRORS,
}
TARGETS: tuple[dict[str, Any], ...] = (
    {"nope": 1},
    {"members.by_region": 1},
    {"members.total": "x"},
    {"members.total": -1},
    {"participation.rate": 2},
)
"""Targets each of which breaks one rule of `check_targets`."""
VALUE = "P"
"""What a value interpolated into a raised message reads as here."""


def _targets_errors(data: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        closures.check_targets(data, INDICATOR_NAMES)
    except closures.InvalidTargetsError as error:
        return list(error.errors)
    return []


# Errors raised with a message the code computes (not a literal): a sample of each.
COMPUTED: dict[type[Exception], tuple[str, ...]] = {
    partnerships.PartnerNotFoundError: (f"no Partner {VALUE}",),
    partnerships.ProjectNotFoundError: (f"no ResearchProject {VALUE}",),
    partnerships.TableNotFoundError: (f"no SectorTable {VALUE}",),
    membership.PeriodsError: tuple(
        message
        for periods in (
            [],
            [membership.Period(date(2020, 1, 1), date(2019, 1, 1))],
            [
                membership.Period(date(2020, 1, 1), None),
                membership.Period(date(2019, 1, 1), date(2019, 6, 1)),
            ],
            [
                membership.Period(date(2020, 1, 1), date(2021, 1, 1)),
                membership.Period(date(2020, 6, 1), None),
            ],
        )
        for _, message in membership.period_errors(periods)
    ),
    closures.InvalidTargetsError: tuple(
        message for data in TARGETS for _, message in _targets_errors(data)
    ),
}


def _service(module: str) -> str:
    """The service a module belongs to: `services.events.domain` → `events`."""
    return module.split(".")[1]


def _error_classes() -> dict[str, type[Exception]]:
    """Every domain error class, keyed `service.ClassName` (services share class names)."""
    found: dict[str, type[Exception]] = {}
    pending = list(BASES)
    while pending:
        kind = pending.pop()
        for sub in kind.__subclasses__():
            found[f"{_service(sub.__module__)}.{sub.__name__}"] = sub
            pending.append(sub)
    return found


def _text(node: ast.expr) -> str | None:
    """The message a literal or an f-string reads as, each value written `P`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(str(part.value))
            else:
                assert isinstance(part, ast.FormattedValue)
                parts.append(repr(VALUE) if part.conversion == ord("r") else VALUE)
        return "".join(parts)
    return None


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _sources(*patterns: str) -> list[Path]:
    return sorted({path for pattern in patterns for path in ROOT.glob(pattern)})


def _raised() -> list[tuple[str, str, str]]:
    """(where, class, message) of each domain error the services raise with a literal message."""
    classes = _error_classes()
    raised = []
    for path in _sources("services/*/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            kind = f"{path.parent.name}.{_name(node)}"
            text = _text(node.args[0])
            if kind in classes and text is not None:
                raised.append((f"{path.parent.name}/{path.name}:{node.lineno}", kind, text))
    return raised


def _refused() -> list[tuple[str, str]]:
    """(where, message) of each request the routes and the shared edge refuse themselves."""
    refused = []
    paths = _sources("services/*/api.py", "shared/http/*.py", "shared/fields.py")
    paths = [path for path in paths if path.name != "docs.py"]  # its errors are the build's
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name, argument = _name(node), None
            if name in ("invalid", "Problem") and len(node.args) >= 2:
                argument = node.args[1]
            elif name == "ValueError" and node.args:
                argument = node.args[0]
            elif name == "dict" or not isinstance(node.func, ast.Name):
                continue
            text = _text(argument) if argument is not None else None
            if text is not None:
                refused.append((f"{path.name}:{node.lineno}", text))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "message":
                        text = _text(value)
                        if text is not None:
                            refused.append((f"{path.name}:{node.lineno}", text))
    return refused


def _specific_in_both_languages(message: str) -> list[str]:
    """What is wrong with the catalog's form of a raised message (nothing when it is right)."""
    found = recognize(message)
    if found is None:
        return ["no template"]
    template, params = found
    faults = []
    loose = [value for value in params.values() if re.search(r"[a-z]+ [a-z]", value)]
    if loose and template.message != message:
        faults.append(f"{template.raised!r} swallows raised words into a value: {loose}")
    french, english = localize(message, "fr"), localize(message, "en")
    if not french or not english:
        faults.append("no message")
    elif template.message == message:
        pass  # a French catalog message raised as is
    elif translate(template.message, "en") == template.message:
        faults.append("no English translation")
    return faults


def test_every_domain_error_class_is_raised_with_a_message_of_the_catalog() -> None:
    raised = _raised()
    classes = _error_classes()
    seen = {kind for _, kind, _ in raised}
    seen |= {f"{_service(kind.__module__)}.{kind.__name__}" for kind in COMPUTED}
    samples = [(where, kind, text) for where, kind, text in raised]
    samples += [
        ("computed", kind.__name__, text) for kind, texts in COMPUTED.items() for text in texts
    ]

    concrete = {name for name, kind in classes.items() if not kind.__subclasses__()}
    assert sorted(concrete - seen) == [], "a domain error raised with no known message"
    faults = [
        (where, kind, text, fault)
        for where, kind, text in samples
        for fault in _specific_in_both_languages(text)
    ]
    assert faults == []


def test_the_computed_messages_are_sampled() -> None:
    assert len(COMPUTED[membership.PeriodsError]) >= 5
    assert len(set(COMPUTED[closures.InvalidTargetsError])) == len(TARGETS)


def test_every_message_a_route_refuses_a_request_with_is_in_the_catalog() -> None:
    faults = [
        (where, text, fault)
        for where, text in _refused()
        for fault in _specific_in_both_languages(text)
    ]

    assert faults == []


def _slugs() -> set[str]:
    slugs = {slug for table in TABLES.values() for _, slug, _ in table.values() if slug}
    for path in _sources("services/*/*.py", "shared/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "slug"
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                slugs.add(node.value.value)
    return slugs


def test_every_problem_type_has_a_french_title_and_detail_and_their_english() -> None:
    slugs = _slugs()

    assert {"unknown-sector", "year-not-ended", "already-closed"} <= slugs
    assert sorted(slugs - set(DOMAIN_TEXTS)) == []
    untranslated = [
        text for slug in slugs for text in DOMAIN_TEXTS[slug][:2] if translate(text, "en") == text
    ]
    assert untranslated == []


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.raised[:40])
def test_a_template_says_in_french_every_value_its_raised_form_holds(template: Any) -> None:
    raised = set(re.findall(r"{(\w+)}", template.raised)) - {"s", "rest", "error", "actual", "kind"}
    french = set(re.findall(r"{(\w+)}", template.message))
    english = set(re.findall(r"{(\w+)}", translate(template.message, "en")))

    assert french <= raised | {"name"} and english <= raised | {"name"}
    assert french == english


def test_the_error_classes_are_found() -> None:
    classes = _error_classes()

    assert inspect.isclass(classes["partnerships.NotARetailerError"])
    assert {
        "partnerships.ProjectDateError",
        "membership.UnknownSectorError",
        "partnerships.UnknownSectorError",
        "reporting.InvalidTargetsError",
        "reporting.AsOfBeforeStartError",
    } <= set(classes)
    assert len(_raised()) > 60


def _refusal(action: Callable[[], object], base: type[Exception]) -> Exception:
    with pytest.raises(base) as raised:
        action()
    return raised.value


def test_real_refusals_of_the_domains_read_specifically_in_both_languages() -> None:
    ambassador = ambassadors.Ambassador(
        id=uuid4(), cooperative_id=uuid4(), enrolled_on=date(2023, 6, 1)
    )
    cooperative = membership.Cooperative(
        id=uuid4(), joined_on=date(2023, 5, 14), name="Coop", region="06",
        sector="microbrasserie", worker_members=3, neq="1170000000",
    )  # fmt: skip
    cooperative.leave(date(2024, 1, 1), None)
    overlapping = [
        membership.Period(date(2020, 1, 1), date(2021, 1, 1)),
        membership.Period(date(2020, 6, 1), None),
    ]
    cases = [
        (
            _refusal(lambda: ambassador.reactivate(), ambassadors.AmbassadorsError),
            AMBASSADORS_ERRORS,
            ("already-active", "Ambassadeur·rice déjà en fonction"),
            "L'ambassadeur·rice est déjà en fonction.",
            "The ambassador is already active.",
        ),
        (
            _refusal(lambda: cooperative.leave(date(2024, 2, 1), None), membership.MembershipError),
            MEMBERSHIP_ERRORS,
            ("already-left", "Coopérative déjà partie"),
            "La coopérative a déjà quitté le réseau.",
            "The cooperative has already left the network.",
        ),
        (
            _refusal(lambda: membership.check_periods(overlapping), membership.MembershipError),
            MEMBERSHIP_ERRORS,
            ("invalid-periods", "Périodes d'adhésion non valides"),
            "periods[1].start : la période chevauche la précédente",
            "periods[1].start: the period overlaps the previous one",
        ),
    ]
    for error, table, (slug, title), french, english in cases:
        fr = domain_problem(error, table).body("fr")
        en = domain_problem(error, table).body("en")

        assert fr["type"] == en["type"] and fr["type"].endswith(f"/{slug}")
        assert (fr["title"], fr["detail"], en["detail"]) == (title, french, english)
        assert [e["field"] for e in fr.get("errors", [])] == [
            e["field"] for e in en.get("errors", [])
        ]
