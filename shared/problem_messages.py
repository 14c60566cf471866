"""The messages problems show, recognized in whatever form the code raised them.

The code raises its refusals as text: its own English sentences (`invalid("limit", "must be a
whole number from 1 to 1000")`, a domain error's message), pydantic's messages, or a French
catalog message. `localize` recognizes a text by the templates below, takes its parameters
from it and answers the catalog's French message in the language asked, with those
parameters. Each template is the English form the code raises, `{name}` standing for a
parameter; the French message is the catalog's source (`N_`), translated by `locales/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from shared.i18n import N_, is_catalog_message, translate


@dataclass(frozen=True)
class Template:
    """A message as the code raises it, and its catalog message."""

    raised: str
    message: str
    field: str = ""

    @property
    def specificity(self) -> int:
        """How many literal characters the raised form has (the most specific wins)."""
        return len(re.sub(r"{\w+}", "", self.raised))


_ = N_
TEMPLATES: tuple[Template, ...] = (
    # The shared edge (shared/http/).
    Template("a valid bearer token is required", _("Un jeton porteur valide est requis.")),
    Template("this token lacks the scope {scope}", _("Ce jeton n'a pas la portée {scope}.")),
    Template(
        "too many failed authentications",
        _("Trop d'authentifications échouées depuis cette adresse ; réessayez plus tard."),
    ),
    Template(
        "the request body exceeds {limit} bytes",
        _("Le corps de la requête dépasse {limit} octets."),
    ),
    Template("the resource is at version {version}", _("La ressource est à la version {version}.")),
    Template("the body is not valid JSON", _("Le corps n'est pas du JSON valide.")),
    Template("the body must be a JSON object", _("Le corps doit être un objet JSON.")),
    Template("must be 1 to 255 characters", _("doit compter de 1 à 255 caractères")),
    Template(
        "this key was used with another request",
        _("cette clé a déjà servi à une autre requête"),
        "Idempotency-Key",
    ),
    Template("must be a whole number from 1 to 1000", _("doit être un nombre entier de 1 à 1000")),
    Template("this cursor cannot be read", _("ce curseur ne peut pas être lu")),
    Template("{value} is not a valid {name}", _("{value} n'est pas une valeur valide de {name}")),
    Template("Not Found", _("Aucune ressource à cette adresse.")),
    Template("Method Not Allowed", _("Cette méthode n'est pas permise à cette adresse.")),
    Template("an internal error occurred", _("Une erreur interne s'est produite.")),
    Template(
        "the {what} kept changing concurrently; retry the request",
        _("L'enregistrement changeait en même temps ; réessayez la requête."),
    ),
    Template("{name} cannot be null", _("{name} ne peut pas être nul"), "{name}"),
    Template("must be fr or en", _("doit être fr ou en")),
    Template("{value} is not a real calendar date", _("{value} n'est pas une date du calendrier")),
    # Business rules of the services (their domain errors' messages).
    Template("no cooperative {id}", _("Aucune coopérative {id}.")),
    Template("no activity {id}", _("Aucune activité {id}.")),
    Template("no ambassador {id}", _("Aucun·e ambassadeur·rice {id}.")),
    Template("no action {id}", _("Aucune action {id}.")),
    Template(
        "no attendance of {cooperative} at {activity}",
        _("Aucune participation de {cooperative} à {activity}."),
    ),
    Template(
        "no public attendance {record} at {activity}",
        _("Aucune participation du public {record} à {activity}."),
    ),
    Template(
        "the cooperative has already left the network",
        _("La coopérative a déjà quitté le réseau."),
    ),
    Template(
        "left_on must be after the current period's start ({start})",
        _("left_on doit suivre le début de la période en cours ({start})."),
        "left_on",
    ),
    Template("the cooperative is an active member", _("La coopérative est membre active.")),
    Template(
        "rejoined_on must not be before left_on ({left_on})",
        _("rejoined_on ne peut précéder left_on ({left_on})."),
        "rejoined_on",
    ),
    Template(
        "an active cooperative already has the NEQ {neq}",
        _("Une coopérative active a déjà le NEQ {neq}."),
        "neq",
    ),
    Template(
        "the ambassador ended on {ended_on}; an action must be performed before",
        _("Le mandat a pris fin le {ended_on} ; une action doit avoir lieu avant."),
        "performed_on",
    ),
    Template(
        "kind must be one of {kinds}", _("kind doit être l'une de ces valeurs : {kinds}"), "kind"
    ),
    Template(
        "people_reached must not be negative",
        _("people_reached ne peut pas être négatif"),
        "people_reached",
    ),
    Template(
        "performed_on must not be before the enrollment ({enrolled_on})",
        _("performed_on ne peut précéder l'entrée en fonction ({enrolled_on})."),
        "performed_on",
    ),
    Template(
        "the ambassador is {status}", _("L'ambassadeur·rice n'est pas en fonction ({status}).")
    ),
    Template(
        "retired_on must not be before the enrollment ({enrolled_on})",
        _("retired_on ne peut précéder l'entrée en fonction ({enrolled_on})."),
        "retired_on",
    ),
    Template(
        "the cooperative {cooperative} is not a member on {day} as far as the events service knows",
        _("La coopérative {cooperative} n'est pas membre le {day} (selon les activités)."),
        "cooperative_id",
    ),
    Template(
        "the cooperative {cooperative} is not a member on {day}",
        _("La coopérative {cooperative} n'est pas membre le {day}."),
        "cooperative_id",
    ),
    Template(
        "{value} is not an activity type ({types})",
        _("{value} n'est pas un type d'activité ({types})"),
        "type",
    ),
    Template(
        "{value} is not a format ({formats})",
        _("{value} n'est pas un format ({formats})"),
        "format",
    ),
    Template("an activity needs a title", _("Une activité doit avoir un titre."), "title"),
    Template(
        "region is required unless the activity is remote",
        _("La région est requise, sauf pour une activité à distance."),
        "region",
    ),
    Template("the activity is cancelled", _("L'activité est annulée.")),
    Template("the activity is already cancelled", _("L'activité est déjà annulée.")),
    Template(
        "{name} must be at least {minimum}", _("{name} doit valoir au moins {minimum}"), "{name}"
    ),
    Template(
        "{value} is not a region code 01 to 17",
        _("{value} n'est pas un code de région de 01 à 17"),
        "region",
    ),
    # Every other domain error of the services (their messages as raised, with their values).
    Template("no Partner {id}", _("Aucun·e partenaire {id}.")),
    Template("no ResearchProject {id}", _("Aucun projet de recherche {id}.")),
    Template("no SectorTable {id}", _("Aucune table sectorielle {id}.")),
    Template(
        "no action {action} of the ambassador {ambassador}",
        _("Aucune action {action} de l'ambassadeur·rice {ambassador}."),
    ),
    Template("no action {action} at this table", _("Aucune action {action} à cette table.")),
    Template(
        "no placement {placement} at this table", _("Aucun placement {placement} à cette table.")
    ),
    Template(
        "{cooperative} is not a member of the table",
        _("{cooperative} n'est pas membre de la table."),
    ),
    Template(
        "{cooperative} has already left the table",
        _("{cooperative} a déjà quitté la table."),
    ),
    Template(
        "joined_on cannot be before the day the cooperative last left the table",
        _("joined_on ne peut précéder le jour où la coopérative a quitté la table."),
        "joined_on",
    ),
    Template("the action {action} was withdrawn", _("L'action {action} a été retirée.")),
    Template(
        "the attendance of {cooperative} was withdrawn",
        _("La participation de {cooperative} a été retirée."),
    ),
    Template(
        "the public attendance {record} was withdrawn",
        _("La participation du public {record} a été retirée."),
    ),
    Template("the action is already withdrawn", _("L'action est déjà retirée.")),
    Template("the activity is not cancelled", _("L'activité n'est pas annulée.")),
    Template("the ambassador is active", _("L'ambassadeur·rice est déjà en fonction.")),
    Template(
        "enrolled_on must not be after the ambassador's first action ({first_action})",
        _("enrolled_on ne peut suivre la première action de l'ambassadeur·rice ({first_action})."),
        "enrolled_on",
    ),
    Template(
        "enrolled_on must be before the day the ambassador ended ({ended_on})",
        _("enrolled_on doit précéder la fin du mandat de l'ambassadeur·rice ({ended_on})."),
        "enrolled_on",
    ),
    Template(
        "the ambassador's personal information was erased: it cannot be changed",
        _(
            "Les renseignements personnels de l'ambassadeur·rice ont été effacés : "
            "ils ne peuvent plus être modifiés."
        ),
    ),
    Template(
        "the cooperative {cooperative} is not a member on {day}"
        " as far as the ambassadors service knows",
        _("La coopérative {cooperative} n'est pas membre le {day} (selon les ambassadeur·rice·s)."),
        "cooperative_id",
    ),
    Template(
        "the cooperative {cooperative} is not a member on {day}"
        " as far as the partnerships service knows",
        _("La coopérative {cooperative} n'est pas membre le {day} (selon les partenariats)."),
        "cooperative_id",
    ),
    Template(
        "this external_ref belongs to an action of another ambassador",
        _("Cette external_ref désigne déjà une action d'un·e autre ambassadeur·rice."),
        "external_ref",
    ),
    Template(
        "this external_ref belongs to a public attendance of another activity",
        _("Cette external_ref désigne déjà une participation du public à une autre activité."),
        "external_ref",
    ),
    Template(
        "this external_ref belongs to a record of another table",
        _("Cette external_ref désigne déjà un enregistrement d'une autre table."),
        "external_ref",
    ),
    Template(
        "the cooperative is voided; restore it first",
        _("La coopérative est annulée ; rétablissez-la d'abord."),
    ),
    Template("the cooperative is already voided", _("La coopérative est déjà annulée.")),
    Template("the cooperative is not voided", _("La coopérative n'est pas annulée.")),
    Template(
        "{value} is not on the sector list (GET /v1/sectors)",
        _("{value} n'est pas dans la liste des secteurs (GET /v1/sectors)."),
        "sector",
    ),
    Template(
        "{value} is not on the sector list",
        _("{value} n'est pas dans la liste des secteurs."),
        "sector",
    ),
    Template(
        "at least one membership period is needed",
        _("il faut au moins une période d'adhésion"),
        "periods",
    ),
    Template("a period must start before it ends", _("une période doit commencer avant de finir")),
    Template(
        "only the last period may have no end",
        _("seule la dernière période peut rester sans fin"),
    ),
    Template("periods must be in date order", _("les périodes doivent suivre l'ordre des dates")),
    Template(
        "the period overlaps the previous one",
        _("la période chevauche la précédente"),
    ),
    Template("the partner is already inactive", _("Le ou la partenaire est déjà inactif·ve.")),
    Template("the partner is already active", _("Le ou la partenaire est déjà actif·ve.")),
    Template(
        "started_on cannot be after the project's end",
        _("started_on ne peut suivre la fin du projet."),
        "started_on",
    ),
    Template("the project is already completed", _("Le projet est déjà terminé.")),
    Template(
        "ended_on cannot be before started_on",
        _("ended_on ne peut précéder started_on."),
        "ended_on",
    ),
    Template("the sector table is dissolved", _("La table sectorielle est dissoute.")),
    Template(
        "left_on must be after the member's joined_on",
        _("left_on doit suivre le joined_on du membre."),
        "left_on",
    ),
    Template(
        "this retailer already has an open placement with the table",
        _("Ce détaillant a déjà un placement en cours avec la table."),
    ),
    Template("the placement has already ended", _("Le placement a déjà pris fin.")),
    Template(
        "ended_on cannot be before the placement's started_on",
        _("ended_on ne peut précéder le started_on du placement."),
        "ended_on",
    ),
    Template(
        "end the table's open placements before dissolving it",
        _("Mettez fin aux placements en cours de la table avant de la dissoudre."),
    ),
    Template(
        "dissolved_on cannot be before formed_on",
        _("dissolved_on ne peut précéder formed_on."),
        "dissolved_on",
    ),
    Template(
        "{partner} is not a partner of the directory",
        _("{partner} n'est pas un·e partenaire du répertoire."),
    ),
    Template(
        "the partner {name} is not a retailer",
        _("Le ou la partenaire {name} n'est pas un détaillant."),
        "retailer_id",
    ),
    Template(
        "another partner already goes by the name {name}",
        _("Un·e autre partenaire porte déjà le nom {name}."),
    ),
    Template(
        "another partner already goes by one of these names",
        _("Un·e autre partenaire porte déjà l'un de ces noms."),
    ),
    # Requests the services check themselves (their routes' parameters and bodies).
    Template("{name} is required", _("{name} est requis"), "{name}"),
    Template("is required", _("est requis")),
    Template("{value} is not a UUID", _("{value} n'est pas un UUID")),
    Template("must be a date written YYYY-MM-DD", _("doit être une date écrite AAAA-MM-JJ")),
    Template("must be an http(s) URL", _("doit être une URL http(s)")),
    Template("Input should be a valid URL{rest}", _("doit être une URL valide")),
    Template("URL scheme should be {schemes}", _("doit être une URL http(s)")),
    Template(
        "reason is at most 500 characters, without NUL",
        _("reason compte au plus 500 caractères, sans caractère NUL"),
        "reason",
    ),
    Template(
        "must be an RFC 3339 timestamp, e.g. {example}",
        _("doit être un horodatage RFC 3339, par exemple {example}"),
    ),
    Template("is not a valid RFC 3339 timestamp", _("n'est pas un horodatage RFC 3339 valide")),
    Template("must be live or stored", _("doit être live ou stored")),
    Template(
        "the body must be a JSON object {indicator: number}",
        _("Le corps doit être un objet JSON {indicateur: nombre}."),
    ),
    Template("is not an indicator", _("n'est pas un indicateur")),
    Template("is not a scalar indicator", _("n'est pas un indicateur scalaire")),
    Template("must be a number", _("doit être un nombre")),
    Template("must be a number ≥ 0", _("doit être un nombre ≥ 0")),
    Template("a rate is at most 1", _("un taux vaut au plus 1")),
    Template("from and to are both required", _("from et to sont tous deux requis.")),
    Template("must not be after to", _("ne peut suivre to")),
    Template(
        "a series spans at most {years} years",
        _("une série couvre au plus {years} années"),
    ),
    Template("{year} has no such closure", _("{year} n'a pas de clôture.")),
    Template("{year} is already closed", _("{year} est déjà clôturé.")),
    Template("{year} is not closed", _("{year} n'est pas clôturé.")),
    Template(
        "{year} ends on {end}: a year is closed once it has ended",
        _("{year} prend fin le {end} : une année se clôture une fois terminée."),
        "fiscal_year",
    ),
    Template("the year has not ended yet", _("l'année n'est pas encore terminée"), "fiscal_year"),
    Template(
        "the figures are still catching up with the streams; retry in a moment",
        _("Les chiffres rattrapent encore les flux ; réessayez dans un moment."),
    ),
    # Fiscal years (reporting).
    Template(
        "month {month} is not between 01 and 12", _("le mois {month} n'est pas entre 01 et 12")
    ),
    Template("{day} is not a day of every year", _("{day} n'est pas un jour de toutes les années")),
    Template("{value} is not written MM-DD", _("{value} ne s'écrit pas MM-JJ")),
    Template("{year} is out of range", _("{year} est hors de la plage permise"), "fiscal_year"),
    Template(
        "as_of {as_of} is before the start of {year} ({start})",
        _("as_of {as_of} précède le début de {year} ({start})"),
        "as_of",
    ),
    Template(
        "{value} is not written YYYY-YYYY", _("{value} ne s'écrit pas AAAA-AAAA"), "fiscal_year"
    ),
    Template(
        "{value} is not two consecutive years",
        _("{value} n'est pas deux années consécutives"),
        "fiscal_year",
    ),
    Template(
        "cut-off {cutoff} is outside {year} ({start} to {end})",
        _("La date d'arrêt {cutoff} est hors de {year} ({start} au {end})."),
        "as_of",
    ),
    # pydantic's messages (their types: missing, extra_forbidden, string_too_short…).
    Template("Field required", _("champ obligatoire")),
    Template("Extra inputs are not permitted", _("champ inconnu")),
    Template("Input should be a valid string", _("doit être une chaîne de caractères")),
    Template(
        "String should have at least {min_length} character{s}",
        _("doit compter au moins {min_length} caractère(s)"),
    ),
    Template(
        "String should have at most {max_length} character{s}",
        _("doit compter au plus {max_length} caractère(s)"),
    ),
    Template("String should match pattern '{pattern}'", _("doit respecter le motif {pattern}")),
    Template("Input should be a valid integer{rest}", _("doit être un nombre entier")),
    Template("Input should be a valid number{rest}", _("doit être un nombre")),
    Template("Input should be a finite number", _("doit être un nombre fini")),
    Template("Input should be a valid boolean{rest}", _("doit être true ou false")),
    Template("Input should be greater than {gt}", _("doit être supérieur à {gt}")),
    Template(
        "Input should be greater than or equal to {ge}",
        _("doit être supérieur ou égal à {ge}"),
    ),
    Template("Input should be less than {lt}", _("doit être inférieur à {lt}")),
    Template("Input should be less than or equal to {le}", _("doit être inférieur ou égal à {le}")),
    Template("Input should be a valid list", _("doit être une liste")),
    Template("Input should be a valid dictionary{rest}", _("doit être un objet")),
    Template("Input should be a valid date{rest}", _("doit être une date AAAA-MM-JJ")),
    Template("Input should be a valid datetime{rest}", _("doit être un horodatage RFC 3339")),
    Template("Input should have timezone info", _("doit indiquer son décalage horaire")),
    Template("Input should be a valid UUID{rest}", _("doit être un UUID")),
    Template("UUID input should be a string, bytes or UUID object", _("doit être un UUID")),
    Template("Input should be a valid decimal", _("doit être un nombre décimal")),
    Template("Input should be None", _("doit être null")),
    Template(
        "{kind} should have at least {min_length} item{s} after validation, not {actual}",
        _("doit compter au moins {min_length} élément(s)"),
    ),
    Template(
        "{kind} should have at most {max_length} item{s} after validation, not {actual}",
        _("doit compter au plus {max_length} élément(s)"),
    ),
    Template("Input should be {expected}", _("doit être l'une de ces valeurs : {expected}")),
    Template("Invalid JSON: {error}", _("JSON non valide")),
)


PATTERNS: dict[str, str] = {
    r"^[^\x00]*$": _("ne doit pas contenir le caractère NUL"),
    r"^[a-z0-9]+([-_][a-z0-9]+)*$": _(
        "doit être un identifiant en minuscules (lettres, chiffres, - ou _)"
    ),
    r"^\d{10}$": _("doit compter exactement 10 chiffres"),
    r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$": _("doit être une adresse courriel"),
}
"""What a pattern of the request models means, said for people instead of the pattern."""


@cache
def _compiled() -> list[tuple[re.Pattern[str], Template]]:
    compiled = []
    for template in sorted(TEMPLATES, key=lambda t: -t.specificity):
        parts = re.split(r"{(\w+)}", template.raised)
        pattern = "".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>.*?)"
            for index, part in enumerate(parts)
        )
        compiled.append((re.compile(pattern + r"\Z", re.DOTALL), template))
    return compiled


_WRAPPERS = re.compile(r"^(?:Value error|Assertion failed), ", re.DOTALL)
_CATALOG = frozenset(t.message for t in TEMPLATES)


def recognize(text: str) -> tuple[Template, dict[str, str]] | None:
    """The template a raised text matches, with its parameters (None when unknown)."""
    text = _WRAPPERS.sub("", text, count=1)
    for pattern, template in _compiled():
        matched = pattern.match(text)
        if matched:
            return template, matched.groupdict()
    if text in _CATALOG:
        return next(t for t in TEMPLATES if t.message == text), {}
    if is_catalog_message(text):
        return Template(text, text), {}
    return None


def localize(text: str, lang: str) -> str | None:
    """The catalog's message for a raised text, in `lang` (None when the catalog lacks it)."""
    found = recognize(text)
    if found is None:
        return None
    template, params = found
    meaning = PATTERNS.get(params.get("pattern", ""))
    if meaning is not None:
        template, params = Template(template.raised, meaning), {}
    if lang == "fr" and "expected" in params:
        params["expected"] = re.sub(r" or (?=[^,]*$)", " ou ", params["expected"])
    try:
        return translate(template.message, lang).format_map(params)
    except (KeyError, IndexError, ValueError):
        return translate(template.message, lang)


_LEADING_FIELD = re.compile(
    r"^([a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+) (?:must|cannot|is required)\b"
)


def field_at_fault(text: str) -> str:
    """The field a business rule's message is about (empty when it names none)."""
    found = recognize(text)
    if found is not None and found[0].field:
        return found[0].field.format_map(found[1])
    leading = _LEADING_FIELD.match(text)
    return leading.group(1) if leading else ""
