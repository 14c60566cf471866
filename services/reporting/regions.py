"""Québec administrative regions and activity types, as the network's readers name them."""

from __future__ import annotations

from typing import Final

REGIONS: Final[dict[str, str]] = {
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
"""Region code → official French name (used in every language), in code order."""

ACTIVITY_TYPES: Final[tuple[str, ...]] = (
    "formation",
    "courtepointe",
    "service_conseil",
    "conference",
    "reseautage",
    "cine_discussion",
    "parcours_coop",
    "autre",
)
"""The network's activity types, in the order the report lists them."""

ACTIVITY_TYPE_LABELS: Final[dict[str, dict[str, str]]] = {
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
"""Language → activity type → label; the network's proper names stay in French."""

LANGUAGES: Final[tuple[str, ...]] = ("fr", "en")
"""Supported languages, French first."""


def region_name(code: str) -> str:
    """Return the official French name of a region code, or the code itself when unknown."""
    return REGIONS.get(code, code)


def activity_type_label(activity_type: str, lang: str = "fr") -> str:
    """Return the label of an activity type in a language, or the type itself when unknown."""
    return ACTIVITY_TYPE_LABELS.get(lang, ACTIVITY_TYPE_LABELS["fr"]).get(
        activity_type, activity_type
    )
