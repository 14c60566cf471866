"""What the import check says, in French (the default) and English: one catalog, keyed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

CATALOG: Final[dict[str, dict[str, str]]] = {
    "fr": {
        "line": "ligne {line}, colonne {column} : {message}",
        "line-only": "ligne {line} : {message}",
        "encoding": "le fichier n'est ni en UTF-8 ni en Windows-1252 ; enregistrez-le en UTF-8",
        "too-large": "le fichier dépasse {limit} Mo ; découpez-le en plusieurs fichiers",
        "no-header": "le fichier est vide : la première ligne doit nommer les colonnes",
        "no-rows": "le fichier ne contient aucune ligne à importer",
        "unknown-column": "colonne inconnue pour ce type d'import",
        "missing-column": "colonne obligatoire absente",
        "duplicate-column": "cette colonne est nommée deux fois",
        "overflow": "la ligne a plus de cellules que l'en-tête n'a de colonnes",
        "required": "valeur obligatoire",
        "one-reference": "indiquez une seule de ces colonnes : {columns}",
        "reference-missing": "indiquez l'une de ces colonnes : {columns}",
        "unknown-cooperative": "aucune coopérative ne correspond à « {value} »",
        "unknown-activity": "aucune activité ne correspond à « {value} »",
        "unknown-ambassador": "aucun·e ambassadeur·rice ne correspond à « {value} »",
        "unknown-partner": "aucun partenaire ne correspond à « {value} »",
        "not-member": "la coopérative n'est pas membre le {date}",
        "neq-taken": "une autre coopérative active porte déjà ce NEQ",
        "neq-in-file": "ce NEQ figure déjà à la ligne {other}",
        "attendance-in-file": (
            "la présence de cette coopérative à cette activité est déjà à la ligne {other}"
        ),
        "duplicate-row": "ligne identique à la ligne {other} : donnez à chacune une external_ref",
        "duplicate-ref": "cette external_ref figure déjà à la ligne {other}",
        "region-required": "la région est obligatoire sauf pour une activité à distance",
        "left-before-join": "left_on doit être après joined_on",
        "left-before-period": "left_on doit être après le début de la période en cours ({start})",
        "left-reason-alone": "left_reason n'a de sens qu'avec left_on",
        "action-before-enrollment": "l'action est antérieure à l'inscription de l'ambassadeur·rice",
        "action-after-end": "l'ambassadeur·rice a cessé le {date} : l'action doit être antérieure",
        "unknown-sector": "« {value} » n'est pas sur la liste des secteurs (GET /v1/sectors)",
        "partner-name-taken": "le partenaire « {other} » porte déjà le nom « {value} »",
        "partner-name-in-file": "le nom « {value} » figure déjà à la ligne {other}",
        "activity-cancelled": "l'activité est annulée : rien n'y est plus enregistré",
        "invalid": "valeur invalide",
        "integer": "doit être un nombre entier",
        "number-min": "doit être au moins {min}",
        "date": "doit être une date écrite AAAA-MM-JJ",
        "choice": "doit être l'une de ces valeurs : {choices}",
        "uuid": "doit être un identifiant (UUID)",
        "text-long": "est trop long (au plus {max} caractères)",
        "pattern": "n'a pas la forme attendue",
        "url": "doit être une adresse http(s)",
        "email": "doit être une adresse courriel",
        "service": "le service a refusé : {detail}",
        "unreachable": "le service {service} ne répond pas à {url}",
        "summary": (
            "{recorded} ligne(s) enregistrée(s), {already} déjà présente(s), {refused} refusée(s)"
        ),
        "checked": "{rows} ligne(s) vérifiée(s), aucun problème",
        "problems": "{count} problème(s) : rien n'a été enregistré",
    },
    "en": {
        "line": "line {line}, column {column}: {message}",
        "line-only": "line {line}: {message}",
        "encoding": "the file is neither UTF-8 nor Windows-1252; save it as UTF-8",
        "too-large": "the file is larger than {limit} MB; split it into several files",
        "no-header": "the file is empty: its first line must name the columns",
        "no-rows": "the file holds no row to import",
        "unknown-column": "unknown column for this kind of import",
        "missing-column": "required column missing",
        "duplicate-column": "this column is named twice",
        "overflow": "the row has more cells than the header has columns",
        "required": "a value is required",
        "one-reference": "give only one of these columns: {columns}",
        "reference-missing": "give one of these columns: {columns}",
        "unknown-cooperative": "no cooperative matches “{value}”",
        "unknown-activity": "no activity matches “{value}”",
        "unknown-ambassador": "no ambassador matches “{value}”",
        "unknown-partner": "no partner matches “{value}”",
        "not-member": "the cooperative is not a member on {date}",
        "neq-taken": "another active cooperative already has this NEQ",
        "neq-in-file": "this NEQ is already on line {other}",
        "attendance-in-file": (
            "this cooperative's attendance at this activity is already on line {other}"
        ),
        "duplicate-row": "same row as line {other}: give each one an external_ref",
        "duplicate-ref": "this external_ref is already on line {other}",
        "region-required": "the region is required unless the activity is remote",
        "left-before-join": "left_on must be after joined_on",
        "left-before-period": "left_on must be after the current period's start ({start})",
        "left-reason-alone": "left_reason needs left_on",
        "action-before-enrollment": "the action is dated before the ambassador's enrolment",
        "action-after-end": "the ambassador ended on {date}: the action must be earlier",
        "unknown-sector": "“{value}” is not on the sector list (GET /v1/sectors)",
        "partner-name-taken": "the partner “{other}” already goes by the name “{value}”",
        "partner-name-in-file": "the name “{value}” is already on line {other}",
        "activity-cancelled": "the activity is cancelled: nothing more is recorded for it",
        "invalid": "invalid value",
        "integer": "must be a whole number",
        "number-min": "must be at least {min}",
        "date": "must be a date written YYYY-MM-DD",
        "choice": "must be one of: {choices}",
        "uuid": "must be an identifier (UUID)",
        "text-long": "is too long (at most {max} characters)",
        "pattern": "does not have the expected form",
        "url": "must be an http(s) address",
        "email": "must be an email address",
        "service": "the service refused: {detail}",
        "unreachable": "the {service} service does not answer at {url}",
        "summary": "{recorded} row(s) recorded, {already} already there, {refused} refused",
        "checked": "{rows} row(s) checked, no problem",
        "problems": "{count} problem(s): nothing was recorded",
    },
}


def say(lang: str, key: str, **params: Any) -> str:
    """A catalog message in a language (French when the language is unknown)."""
    return CATALOG.get(lang, CATALOG["fr"])[key].format(**params)


@dataclass(frozen=True)
class Problem:
    """Something wrong with the file, at a line (1 = the header) and a column (may be empty)."""

    line: int
    column: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        """What is wrong, without the position."""
        return say(lang, self.key, **self.params)

    def describe(self, lang: str) -> str:
        """`ligne N, colonne X : message` (or without the column when none is at fault)."""
        if self.column:
            return say(lang, "line", line=self.line, column=self.column, message=self.message(lang))
        return say(lang, "line-only", line=self.line, message=self.message(lang))
