"""Problems in French by default, in English on request, from one catalog (contract §1, §16.13)."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po
from pydantic import ValidationError

from shared.fields import BusinessDate, NonEmptyText, RequestBody
from shared.http import validation_problem
from shared.i18n import LOCALES, negotiate
from shared.problem_messages import TEMPLATES
from shared.problems import DOMAIN_TEXTS, STATUS_TEXTS, Problem, invalid


@pytest.mark.parametrize(
    ("header", "lang", "expected"),
    [
        (None, None, "fr"),
        ("", None, "fr"),
        ("en", None, "en"),
        ("en-CA", None, "en"),
        ("EN-ca,fr;q=0.5", None, "en"),
        ("fr-CA,en;q=0.8", None, "fr"),
        ("fr;q=0.3,en;q=0.9", None, "en"),
        ("de,en;q=0.5", None, "en"),
        ("de", None, "fr"),
        ("en;q=0", None, "fr"),
        ("*", None, "fr"),
        ("en", "fr", "fr"),
        ("fr", "en", "en"),
        ("en", "de", "en"),
    ],
)
def test_the_language_follows_q_values_prefixes_and_the_lang_parameter(
    header: str | None, lang: str | None, expected: str
) -> None:
    assert negotiate(header, lang) == expected


def test_an_edge_problem_reads_in_french_then_in_english_with_its_parameters() -> None:
    problem = Problem(403, "this token lacks the scope 'membership:write'")

    french, english = problem.body("fr"), problem.body("en")

    assert french["title"] == "Accès refusé"
    assert french["detail"] == "Ce jeton n'a pas la portée 'membership:write'."
    assert english["title"] == "Forbidden"
    assert english["detail"] == "This token lacks the scope 'membership:write'."
    assert french["type"] == english["type"] and french["status"] == english["status"] == 403


def test_a_validation_message_of_pydantic_is_translated_with_its_parameters() -> None:
    class Body(RequestBody):
        name: NonEmptyText
        joined_on: BusinessDate

    with pytest.raises(ValidationError) as raised:
        Body.model_validate({"name": "", "joined_on": "2024-13-01", "extra": 1})
    problem = validation_problem(list(raised.value.errors(include_url=False)))

    french, english = problem.body("fr"), problem.body("en")

    assert [e["field"] for e in french["errors"]] == ["name", "joined_on", "extra"]
    assert [e["field"] for e in english["errors"]] == ["name", "joined_on", "extra"]
    assert [e["message"] for e in french["errors"]] == [
        "doit compter au moins 1 caractère(s)",
        "n'est pas une date du calendrier",
        "champ inconnu",
    ]
    assert [e["message"] for e in english["errors"]] == [
        "must have at least 1 character(s)",
        "is not a real calendar date",
        "unknown field",
    ]
    assert french["detail"].startswith("name : doit compter")
    assert english["detail"].startswith("name: must have")


def test_a_domain_error_is_titled_by_its_type_suffix() -> None:
    problem = Problem(409, "an active cooperative already has the NEQ 1234567890", slug="neq-taken")

    assert problem.body("fr")["title"] == "NEQ déjà utilisé"
    assert problem.body("fr")["detail"] == "Une coopérative active a déjà le NEQ 1234567890."
    assert problem.body("en")["title"] == "NEQ already taken"
    assert problem.body("en")["detail"] == "An active cooperative already has the NEQ 1234567890."


def test_an_error_the_catalog_does_not_know_still_reads_in_french() -> None:
    problem = Problem(409, "the widget is frobnicated", slug="widget-frobnicated")

    assert problem.body("fr")["title"] == "Conflit avec l'état actuel"
    assert problem.body("fr")["detail"] == "La demande contredit l'état actuel."
    assert problem.body("en")["detail"] == "the widget is frobnicated"


def test_an_unknown_field_message_still_reads_in_french() -> None:
    document = invalid("colour", "the colour is ugly").body("fr")

    assert document["errors"] == [{"field": "colour", "message": "Cette valeur est refusée."}]


@pytest.mark.parametrize(
    ("slug", "detail", "field"),
    [
        ("departure-date", "left_on must be after the current period's start (2024)", "left_on"),
        ("readmission-date", "rejoined_on must not be before left_on (2024-01-01)", "rejoined_on"),
        (None, "count must be at least 1", "count"),
        (None, "the zorglub_on must come first", ""),
    ],
)
def test_a_business_rule_422_without_errors_names_its_field(
    slug: str | None, detail: str, field: str
) -> None:
    document = Problem(422, detail, slug=slug).body("fr")

    assert document["errors"][0]["field"] == field
    assert document["errors"][0]["message"]


def test_every_catalog_message_has_an_english_translation() -> None:
    with (LOCALES / "en" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file, locale="en")
    translated = {m.id: m.string for m in catalog if m.id}
    sources = [t.message for t in TEMPLATES]
    sources += [text for pair in STATUS_TEXTS.values() for text in pair]
    sources += [text for title, detail, _ in DOMAIN_TEXTS.values() for text in (title, detail)]

    assert [s for s in sources if not translated.get(s)] == []


def test_every_french_message_of_the_code_is_translated_in_the_compiled_catalog() -> None:
    import gettext

    from babel.messages.extract import extract_from_dir

    root = LOCALES.parent.parent
    found = {
        message
        for directory in ("shared", "services")
        for _, _, message, _, _ in extract_from_dir(
            root / directory, keywords={"N_": None, "_": None}
        )
        if isinstance(message, str)
    }
    with (LOCALES / "en" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        source = {m.id: m.string for m in read_po(file, locale="en") if m.id}
    with (LOCALES / "en" / "LC_MESSAGES" / "messages.mo").open("rb") as file:
        compiled = gettext.GNUTranslations(file)

    assert sorted(m for m in found if not source.get(m)) == [], "run `make locales-update`"
    assert [m for m, s in source.items() if compiled.gettext(m) != s] == [], "run `make locales`"


def test_a_rule_over_the_whole_body_names_the_field_its_message_is_about() -> None:
    problem = validation_problem([{"loc": ("body",), "msg": "Value error, name cannot be null"}])

    assert problem.body("fr")["errors"] == [
        {"field": "name", "message": "name ne peut pas être nul"}
    ]
    assert problem.body("en")["errors"] == [{"field": "name", "message": "name cannot be null"}]
