"""The network's words, written once: the lists every service, document and page shares.

Each vocabulary is a StrEnum (its values are the contract's slugs) with French and English
labels. Domains, request models, integration contracts, the demo, reporting and the console
import them from here; nothing else spells these lists.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

Labels = dict[str, dict[str, str]]
"""Language → slug → label."""

LANGUAGES: Final[tuple[str, ...]] = ("fr", "en")
"""Supported languages, French first."""


class Region(StrEnum):
    """Québec administrative regions by their official codes."""

    BAS_SAINT_LAURENT = "01"
    SAGUENAY_LAC_SAINT_JEAN = "02"
    CAPITALE_NATIONALE = "03"
    MAURICIE = "04"
    ESTRIE = "05"
    MONTREAL = "06"
    OUTAOUAIS = "07"
    ABITIBI_TEMISCAMINGUE = "08"
    COTE_NORD = "09"
    NORD_DU_QUEBEC = "10"
    GASPESIE_ILES_DE_LA_MADELEINE = "11"
    CHAUDIERE_APPALACHES = "12"
    LAVAL = "13"
    LANAUDIERE = "14"
    LAURENTIDES = "15"
    MONTEREGIE = "16"
    CENTRE_DU_QUEBEC = "17"


REGION_NAMES: Final[dict[str, str]] = {
    "01": "Bas-Saint-Laurent",
    "02": "Saguenay–Lac-Saint-Jean",
    "03": "Capitale-Nationale",
    "04": "Mauricie",
    "05": "Estrie",
    "06": "Montréal",
    "07": "Outaouais",
    "08": "Abitibi-Témiscamingue",
    "09": "Côte-Nord",
    "10": "Nord-du-Québec",
    "11": "Gaspésie–Îles-de-la-Madeleine",
    "12": "Chaudière-Appalaches",
    "13": "Laval",
    "14": "Lanaudière",
    "15": "Laurentides",
    "16": "Montérégie",
    "17": "Centre-du-Québec",
}
"""Region code → official French name (used in every language: it is a proper name)."""


class ActivityType(StrEnum):
    """The network's activity types, in the order the report lists them."""

    FORMATION = "formation"
    COURTEPOINTE = "courtepointe"
    SERVICE_CONSEIL = "service_conseil"
    CONFERENCE = "conference"
    RESEAUTAGE = "reseautage"
    CINE_DISCUSSION = "cine_discussion"
    PARCOURS_COOP = "parcours_coop"
    AUTRE = "autre"


ACTIVITY_TYPE_LABELS: Final[Labels] = {
    "fr": {
        "formation": "Formation",
        "courtepointe": "Courtepointe",
        "service_conseil": "Service-conseil",
        "conference": "Conférence",
        "reseautage": "Réseautage",
        "cine_discussion": "Ciné-discussion",
        "parcours_coop": "Parcours COOP",
        "autre": "Autre",
    },
    "en": {
        "formation": "Training",
        "courtepointe": "Courtepointe (peer meetings)",
        "service_conseil": "Advisory services",
        "conference": "Conference",
        "reseautage": "Networking",
        "cine_discussion": "Film discussion",
        "parcours_coop": "Parcours COOP",
        "autre": "Other",
    },
}


class ActivityFormat(StrEnum):
    """How an activity is held."""

    IN_PERSON = "in_person"
    REMOTE = "remote"
    HYBRID = "hybrid"


ACTIVITY_FORMAT_LABELS: Final[Labels] = {
    "fr": {"in_person": "En présence", "remote": "À distance", "hybrid": "Hybride"},
    "en": {"in_person": "In person", "remote": "Remote", "hybrid": "Hybrid"},
}


class ActionKind(StrEnum):
    """What an ambassador did to promote the model."""

    CINE_DISCUSSION = "cine_discussion"
    PRESENTATION = "presentation"
    KIOSQUE = "kiosque"
    MENTORAT = "mentorat"
    AUTRE = "autre"


ACTION_KIND_LABELS: Final[Labels] = {
    "fr": {
        "cine_discussion": "Ciné-discussion",
        "presentation": "Présentation",
        "kiosque": "Kiosque",
        "mentorat": "Mentorat",
        "autre": "Autre",
    },
    "en": {
        "cine_discussion": "Film discussion",
        "presentation": "Presentation",
        "kiosque": "Information booth",
        "mentorat": "Mentoring",
        "autre": "Other",
    },
}


class Sector(StrEnum):
    """The sector list's first slugs (contract §2); staff may add more (`SectorDefined`)."""

    ALIMENTATION = "alimentation"
    ARTS_CULTURE = "arts_culture"
    COMMUNICATIONS = "communications"
    CONSTRUCTION = "construction"
    DESIGN = "design"
    EDUCATION = "education"
    ENVIRONNEMENT = "environnement"
    FABRICATION = "fabrication"
    INFORMATIQUE = "informatique"
    MICROBRASSERIE = "microbrasserie"
    RESTAURATION = "restauration"
    SANTE_SERVICES_SOCIAUX = "sante_services_sociaux"
    SERVICES_CONSEILS = "services_conseils"
    TRANSPORT = "transport"
    AUTRE = "autre"


SECTOR_LABELS: Final[Labels] = {
    "fr": {
        "alimentation": "Alimentation",
        "arts_culture": "Arts et culture",
        "communications": "Communications",
        "construction": "Construction",
        "design": "Design",
        "education": "Éducation",
        "environnement": "Environnement",
        "fabrication": "Fabrication",
        "informatique": "Informatique",
        "microbrasserie": "Microbrasseries",
        "restauration": "Restauration",
        "sante_services_sociaux": "Santé et services sociaux",
        "services_conseils": "Services-conseils",
        "transport": "Transport",
        "autre": "Autre",
    },
    "en": {
        "alimentation": "Food",
        "arts_culture": "Arts and culture",
        "communications": "Communications",
        "construction": "Construction",
        "design": "Design",
        "education": "Education",
        "environnement": "Environment",
        "fabrication": "Manufacturing",
        "informatique": "Information technology",
        "microbrasserie": "Microbreweries",
        "restauration": "Restaurants",
        "sante_services_sociaux": "Health and social services",
        "services_conseils": "Consulting services",
        "transport": "Transportation",
        "autre": "Other",
    },
}
"""The built-in sectors' labels; the sector list itself lives in the membership service."""


class PartnerKind(StrEnum):
    """Kinds of partners in the partnerships directory (contract §12)."""

    DEVELOPPEMENT_ECONOMIQUE = "developpement_economique"
    ECONOMIE_SOCIALE = "economie_sociale"
    RESEAU_COOPERATIF = "reseau_cooperatif"
    RECHERCHE = "recherche"
    DETAILLANT = "detaillant"
    INSTITUTION = "institution"
    AUTRE = "autre"


PARTNER_KIND_LABELS: Final[Labels] = {
    "fr": {
        "developpement_economique": "Développement économique",
        "economie_sociale": "Économie sociale",
        "reseau_cooperatif": "Réseau coopératif",
        "recherche": "Recherche",
        "detaillant": "Détaillant",
        "institution": "Institution",
        "autre": "Autre",
    },
    "en": {
        "developpement_economique": "Economic development",
        "economie_sociale": "Social economy",
        "reseau_cooperatif": "Co-operative network",
        "recherche": "Research",
        "detaillant": "Retailer",
        "institution": "Institution",
        "autre": "Other",
    },
}

NOT_IN_DIRECTORY: Final[str] = "non_repertorie"
"""The `outreach.partners_by_kind` key of partner names that match no directory partner."""


class TableActionKind(StrEnum):
    """What a sector table does together (contract §12)."""

    VISIBILITE = "visibilite"
    REPRESENTATION = "representation"
    MUTUALISATION = "mutualisation"
    AUTRE = "autre"


TABLE_ACTION_KIND_LABELS: Final[Labels] = {
    "fr": {
        "visibilite": "Visibilité",
        "representation": "Représentation",
        "mutualisation": "Mutualisation",
        "autre": "Autre",
    },
    "en": {
        "visibilite": "Visibility",
        "representation": "Representation",
        "mutualisation": "Pooling",
        "autre": "Other",
    },
}


def label(labels: Labels, slug: str, lang: str = "fr") -> str:
    """The label of a slug in a language (French when the language is unknown), else the slug."""
    return labels.get(lang, labels["fr"]).get(slug, slug)


def region_name(code: str) -> str:
    """The official French name of a region code, or the code itself when unknown."""
    return REGION_NAMES.get(code, code)
