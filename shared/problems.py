"""RFC 9457 problem details: the one place where errors become HTTP answers, in two languages.

Every word a problem shows comes from the message catalog (`shared.i18n`, French source,
English in `locales/`): the title from the problem's type (its slug) or its status; the
`detail` and every `errors[].message` from `shared.problem_messages`, which recognizes the
messages the code raises (its own, pydantic's, the edge's) and gives their catalog form with
their parameters. A message the catalog does not know yet still reads in French: the title and
detail of its type or status stand in for it. `type`, `status` and `field` never change with
the language.
"""

from __future__ import annotations

from typing import Any

from shared.i18n import N_, translate
from shared.problem_messages import field_at_fault, localize

PROBLEM_BASE = "https://reseau.coop/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

# Title and generic detail of each status: what a problem says when nothing more is known.
STATUS_TEXTS: dict[int, tuple[str, str]] = {
    400: (N_("Requête invalide"), N_("La requête n'a pas pu être lue.")),
    401: (N_("Authentification requise"), N_("Un jeton porteur valide est requis.")),
    403: (N_("Accès refusé"), N_("Ce jeton ne permet pas cette opération.")),
    404: (N_("Ressource introuvable"), N_("La ressource demandée n'existe pas.")),
    405: (N_("Méthode non permise"), N_("Cette méthode n'est pas permise à cette adresse.")),
    406: (N_("Format non disponible"), N_("Aucun des formats demandés n'est disponible.")),
    409: (N_("Conflit avec l'état actuel"), N_("La demande contredit l'état actuel.")),
    412: (N_("Version périmée"), N_("La ressource a changé depuis la version indiquée.")),
    413: (N_("Requête trop volumineuse"), N_("Le corps de la requête est trop volumineux.")),
    415: (
        N_("Type de contenu non pris en charge"),
        N_("Ce type de contenu n'est pas pris en charge."),
    ),
    422: (N_("Requête non valide"), N_("La requête ne respecte pas une règle.")),
    429: (N_("Trop de tentatives"), N_("Trop de tentatives ; réessayez plus tard.")),
    500: (N_("Erreur interne"), N_("Une erreur interne s'est produite.")),
    503: (N_("Service indisponible"), N_("Le service est momentanément indisponible.")),
}
TITLES: dict[int, tuple[str, str]] = {
    status: (title, translate(title, "en")) for status, (title, _) in STATUS_TEXTS.items()
}
"""Each status's title in French and English (kept for the OpenAPI's descriptions)."""
GENERIC_TITLE = N_("Erreur")
GENERIC_DETAIL = N_("La requête a été refusée.")
GENERIC_MESSAGE = N_("Cette valeur est refusée.")

SLUGS: dict[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}

# Problems of the domain, keyed by their type's suffix: title, generic detail, and the field at
# fault when the problem is a 422 about one field.
DOMAIN_TEXTS: dict[str, tuple[str, str, str]] = {
    "neq-taken": (
        N_("NEQ déjà utilisé"),
        N_("Une coopérative active a déjà ce NEQ."),
        "neq",
    ),
    "already-left": (
        N_("Coopérative déjà partie"),
        N_("La coopérative a déjà quitté le réseau."),
        "",
    ),
    "already-member": (
        N_("Coopérative déjà membre"),
        N_("La coopérative est déjà membre du réseau."),
        "",
    ),
    "departure-date": (
        N_("Date de départ non valide"),
        N_("La date de départ doit suivre le début de la période en cours."),
        "left_on",
    ),
    "readmission-date": (
        N_("Date de réadmission non valide"),
        N_("La date de réadmission ne peut précéder la date de départ."),
        "rejoined_on",
    ),
    "cooperative-not-member": (
        N_("Coopérative non membre"),
        N_("La coopérative n'est pas membre du réseau à cette date."),
        "cooperative_id",
    ),
    "action-date": (
        N_("Date d'action non valide"),
        N_("L'action ne peut précéder l'entrée en fonction de l'ambassadeur·rice."),
        "performed_on",
    ),
    "retirement-date": (
        N_("Date de retrait non valide"),
        N_("Le retrait ne peut précéder l'entrée en fonction de l'ambassadeur·rice."),
        "retired_on",
    ),
    "ambassador-ended": (
        N_("Mandat terminé"),
        N_("Le mandat de l'ambassadeur·rice était terminé à cette date."),
        "",
    ),
    "not-active": (
        N_("Ambassadeur·rice inactif·ve"),
        N_("L'ambassadeur·rice n'est plus en fonction."),
        "",
    ),
    "activity-cancelled": (
        N_("Activité annulée"),
        N_("L'activité est annulée."),
        "",
    ),
    "already-cancelled": (
        N_("Activité déjà annulée"),
        N_("L'activité est déjà annulée."),
        "",
    ),
    "region-required": (
        N_("Région requise"),
        N_("La région est requise, sauf pour une activité à distance."),
        "region",
    ),
    "already-active": (
        N_("Ambassadeur·rice déjà en fonction"),
        N_("L'ambassadeur·rice est déjà en fonction."),
        "",
    ),
    "enrollment-date": (
        N_("Date d'entrée en fonction non valide"),
        N_("La date d'entrée en fonction contredit les actions ou la fin du mandat."),
        "enrolled_on",
    ),
    "personal-data-erased": (
        N_("Renseignements personnels effacés"),
        N_("Les renseignements personnels ont été effacés : ils ne peuvent plus être modifiés."),
        "",
    ),
    "not-cancelled": (
        N_("Activité non annulée"),
        N_("L'activité n'est pas annulée."),
        "",
    ),
    "invalid-periods": (
        N_("Périodes d'adhésion non valides"),
        N_("Les périodes d'adhésion ne respectent pas les règles."),
        "periods",
    ),
    "already-voided": (
        N_("Coopérative déjà annulée"),
        N_("La coopérative est déjà annulée."),
        "",
    ),
    "not-voided": (
        N_("Coopérative non annulée"),
        N_("La coopérative n'est pas annulée."),
        "",
    ),
    "unknown-sector": (
        N_("Secteur inconnu"),
        N_("Ce secteur n'est pas dans la liste des secteurs."),
        "sector",
    ),
    "partner-name-taken": (
        N_("Nom de partenaire déjà utilisé"),
        N_("Un·e autre partenaire porte déjà ce nom."),
        "",
    ),
    "partner-status": (
        N_("Statut du ou de la partenaire inchangé"),
        N_("Le ou la partenaire a déjà ce statut."),
        "",
    ),
    "unknown-partner": (
        N_("Partenaire inconnu·e"),
        N_("Cet identifiant ne désigne aucun·e partenaire du répertoire."),
        "partner_ids",
    ),
    "not-a-retailer": (
        N_("Partenaire non détaillant"),
        N_("Les placements se font auprès de détaillants seulement."),
        "retailer_id",
    ),
    "already-completed": (
        N_("Projet déjà terminé"),
        N_("Le projet de recherche est déjà terminé."),
        "",
    ),
    "project-date": (
        N_("Date de projet non valide"),
        N_("Les dates du projet ne sont pas dans l'ordre."),
        "ended_on",
    ),
    "table-dissolved": (
        N_("Table dissoute"),
        N_("La table sectorielle est dissoute."),
        "",
    ),
    "table-date": (
        N_("Date de table non valide"),
        N_("Les dates de la table ne sont pas dans l'ordre."),
        "ended_on",
    ),
    "placement-open": (
        N_("Placement en cours"),
        N_("Un placement est encore en cours."),
        "",
    ),
    "placement-ended": (
        N_("Placement terminé"),
        N_("Le placement a déjà pris fin."),
        "",
    ),
    "already-closed": (
        N_("Année déjà clôturée"),
        N_("Cette année financière est déjà clôturée."),
        "",
    ),
    "year-not-ended": (
        N_("Année non terminée"),
        N_("Une année financière se clôture une fois terminée."),
        "fiscal_year",
    ),
    "already-withdrawn": (
        N_("Déjà retiré"),
        N_("Cet enregistrement a déjà été retiré."),
        "",
    ),
    "external-ref-taken": (
        N_("Référence externe déjà utilisée"),
        N_("Cette référence externe désigne déjà un autre enregistrement."),
        "external_ref",
    ),
    "idempotency-key-reused": (
        N_("Clé d'idempotence déjà utilisée"),
        N_("Cette clé d'idempotence a servi à une autre requête."),
        "Idempotency-Key",
    ),
    "voided": (
        N_("Enregistrement annulé"),
        N_("Cet enregistrement a été annulé."),
        "",
    ),
}


class Problem(Exception):
    """An HTTP error answer: status, a type slug, a human detail and, for 422, field errors."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or SLUGS.get(status, "error")
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions or {}
        """Members of the problem document beyond RFC 9457's (e.g. `existing_id`)."""

    def body(self, lang: str = "fr", instance: str | None = None) -> dict[str, Any]:
        """The problem+json document in `lang` (`fr` or `en`)."""
        title, generic_detail = STATUS_TEXTS.get(self.status, (GENERIC_TITLE, GENERIC_DETAIL))
        domain = DOMAIN_TEXTS.get(self.slug)
        if domain is not None:
            title, generic_detail = domain[0], domain[1]
        document: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": translate(title, lang),
            "status": self.status,
            "detail": self._detail(lang, generic_detail),
        }
        if instance:
            document["instance"] = instance
        document.update(self.extensions)
        if self.status == 422:
            document["errors"] = [
                {
                    "field": item["field"] or field_at_fault(item["message"]),
                    "message": _message(item["message"], lang),
                }
                for item in self._errors(domain)
            ]
        return document

    def _errors(self, domain: tuple[str, str, str] | None) -> list[dict[str, str]]:
        """The field errors; a 422 raised without them names the field the rule is about."""
        if self.errors:
            return self.errors
        field = (domain[2] if domain else "") or field_at_fault(self.detail)
        return [{"field": field, "message": self.detail}]

    def _detail(self, lang: str, generic: str) -> str:
        if self.errors and self.detail == joined(self.errors):
            return joined(
                [
                    {
                        "field": e["field"] or field_at_fault(e["message"]),
                        "message": _message(e["message"], lang),
                    }
                    for e in self.errors
                ],
                lang,
            )
        known = localize(self.detail, lang)
        if known is not None:
            return known
        return self.detail if lang == "en" else translate(generic, lang)


def _message(message: str, lang: str) -> str:
    known = localize(message, lang)
    if known is not None:
        return known
    return message if lang == "en" else translate(GENERIC_MESSAGE, lang)


def joined(errors: list[dict[str, str]], lang: str = "en") -> str:
    """A validation problem's detail: every `field: message`, `body` for the whole body."""
    separator = " : " if lang == "fr" else ": "
    return "; ".join(f"{e['field'] or 'body'}{separator}{e['message']}" for e in errors)


def invalid(field: str, message: str, *, slug: str | None = None) -> Problem:
    """A 422 about one field."""
    return Problem(422, message, slug=slug, errors=[{"field": field, "message": message}])
