"""Views of an indicators answer: CSV, the annual report's indicator section, the dashboard page.

Every function here is pure: it takes the JSON object that ``GET /v1/indicators/{fiscal_year}``
answers (or, for the dashboard, the fiscal year to show) and returns text. French comes first;
English is given on request.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

from services.reporting.indicators import INDICATOR_NAMES
from services.reporting.regions import (
    ACTIVITY_TYPE_LABELS,
    ACTIVITY_TYPES,
    LANGUAGES,
    REGIONS,
    activity_type_label,
    region_name,
)

CSV_HEADER: Final[tuple[str, str, str]] = ("indicator", "key", "value")

_REGION_KEYED: Final = frozenset({"members.by_region"})
_TYPE_KEYED: Final = frozenset({"participation.by_activity_type", "activities.by_type"})

_NBSP: Final = "\u00a0"  # before a French colon or percent sign
_NNBSP: Final = "\u202f"  # French thousands separator

_MONTHS: Final[dict[str, tuple[str, ...]]] = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip
_MONTHS_SHORT: Final[dict[str, tuple[str, ...]]] = {
    "fr": (
        "janv.", "févr.", "mars", "avr.", "mai", "juin",
        "juill.", "août", "sept.", "oct.", "nov.", "déc.",
    ),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}  # fmt: skip

_REPORT_TEXT: Final[dict[str, dict[str, str]]] = {
    "fr": {
        "title": "Indicateurs de l’exercice {fy}",
        "period": "Exercice du {start} au {end}.",
        "as_of": "Données cumulées au {as_of}.",
        "members": "Membres",
        "participation": "Participation",
        "outreach": "Rayonnement",
        "ambassadors": "Ambassadeur.rice.s",
        "joins_chart": "Adhésions par mois",
        "regions_chart": "Membres par région",
        "types_chart": "Participation par type d’activité",
        "sectors_table": "Membres par secteur",
        "data": "Données",
        "month": "Mois",
        "joins": "Adhésions",
        "code": "Code",
        "region": "Région",
        "member_coops": "Coopératives membres",
        "activity_type": "Type d’activité",
        "participating": "Coopératives participantes",
        "activities_held": "Activités tenues",
        "sector": "Secteur",
    },
    "en": {
        "title": "Indicators for fiscal year {fy}",
        "period": "Fiscal year from {start} to {end}.",
        "as_of": "Year-to-date figures as of {as_of}.",
        "members": "Members",
        "participation": "Participation",
        "outreach": "Outreach",
        "ambassadors": "Ambassadors",
        "joins_chart": "Joins by month",
        "regions_chart": "Members by region",
        "types_chart": "Participation by activity type",
        "sectors_table": "Members by sector",
        "data": "Data",
        "month": "Month",
        "joins": "Joins",
        "code": "Code",
        "region": "Region",
        "member_coops": "Member cooperatives",
        "activity_type": "Activity type",
        "participating": "Participating cooperatives",
        "activities_held": "Activities held",
        "sector": "Sector",
    },
}

_DASHBOARD_TEXT: Final[dict[str, dict[str, Any]]] = {
    "fr": {
        "title": "Tableau de bord {fy} – Réseau COOP",
        "brand": "Réseau COOP",
        "heading": "Indicateurs de l’exercice {fy}",
        "switch": "English",
        "loading": "Chargement des indicateurs…",
        "noscript": "Ce tableau de bord a besoin de JavaScript pour afficher les indicateurs.",
        "error": "Impossible de charger les indicateurs ({detail}). Réessayez plus tard.",
        "retry": "Réessayer",
        "network": "connexion impossible ou réponse illisible",
        "period": "Exercice du {start} au {end}",
        "as_of": "données au {as_of}",
        "figures": "Chiffres clés",
        "members_total": ["coopérative membre", "coopératives membres"],
        "members_joined": ["adhésion pendant l’exercice", "adhésions pendant l’exercice"],
        "participation_rate": "des membres ont participé à au moins une activité",
        "people_reached": [
            "personne rejointe par les ciné-discussions du documentaire",
            "personnes rejointes par les ciné-discussions du documentaire",
        ],
        "ambassadors_mobilized": [
            "ambassadeur.rice mobilisé.e",
            "ambassadeur.rice.s mobilisé.e.s",
        ],
        "activities_total": ["activité tenue", "activités tenues"],
        "joins_by_month": "Adhésions par mois",
        "members_by_region": "Membres par région",
        "participation_by_type": "Participation par type d’activité",
        "participation_by_type_note": "Coopératives membres ayant participé à au moins une "
        "activité de chaque type",
        "outreach": "Rayonnement",
        "reached_chart": "Personnes rejointes",
        "reached_cine": "Ciné-discussions",
        "reached_parcours": "Parcours COOP",
        "reached_ambassadors": "Actions des ambassadeur.rice.s",
        "cine_discussions": "Ciné-discussions du documentaire",
        "cine_regions": "Régions des ciné-discussions",
        "partners": "Partenaires",
        "parcours_sessions": "Séances du Parcours COOP",
        "parcours_regions": "Régions du Parcours COOP",
        "ambassador_actions": "Actions des ambassadeur.rice.s",
        "freshness": "Derniers événements reçus",
        "stream_membership": "Adhésions",
        "stream_events": "Activités",
        "stream_ambassadors": "Ambassadeur.rice.s",
        "never": "aucun",
        "colon": "\u00a0: ",
        "months": list(_MONTHS["fr"]),
        "months_short": list(_MONTHS_SHORT["fr"]),
    },
    "en": {
        "title": "Dashboard {fy} – Réseau COOP",
        "brand": "Réseau COOP",
        "heading": "Indicators for fiscal year {fy}",
        "switch": "Français",
        "loading": "Loading the indicators…",
        "noscript": "This dashboard needs JavaScript to show the indicators.",
        "error": "The indicators could not be loaded ({detail}). Please try again later.",
        "retry": "Try again",
        "network": "no connection or unreadable answer",
        "period": "Fiscal year from {start} to {end}",
        "as_of": "figures as of {as_of}",
        "figures": "Key figures",
        "members_total": ["member cooperative", "member cooperatives"],
        "members_joined": ["join during the year", "joins during the year"],
        "participation_rate": "of members took part in at least one activity",
        "people_reached": [
            "person reached by the documentary's film discussions",
            "people reached by the documentary's film discussions",
        ],
        "ambassadors_mobilized": ["ambassador mobilized", "ambassadors mobilized"],
        "activities_total": ["activity held", "activities held"],
        "joins_by_month": "Joins by month",
        "members_by_region": "Members by region",
        "participation_by_type": "Participation by activity type",
        "participation_by_type_note": "Member cooperatives that took part in at least one "
        "activity of each type",
        "outreach": "Outreach",
        "reached_chart": "People reached",
        "reached_cine": "Film discussions",
        "reached_parcours": "Parcours COOP",
        "reached_ambassadors": "Ambassador actions",
        "cine_discussions": "Documentary film discussions",
        "cine_regions": "Film discussion regions",
        "partners": "Partners",
        "parcours_sessions": "Parcours COOP sessions",
        "parcours_regions": "Parcours COOP regions",
        "ambassador_actions": "Ambassador actions",
        "freshness": "Latest events received",
        "stream_membership": "Membership",
        "stream_events": "Activities",
        "stream_ambassadors": "Ambassadors",
        "never": "none",
        "colon": ": ",
        "months": list(_MONTHS["en"]),
        "months_short": list(_MONTHS_SHORT["en"]),
    },
}

_BAR_COLOUR: Final = "#1d6f72"
_TEXT_COLOUR: Final = "#1f2933"
_AXIS_COLOUR: Final = "#8a949e"
_FONT: Final = "system-ui, sans-serif"


# --- formatting -------------------------------------------------------------------------------


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    return lang


def format_number(value: float | Decimal, lang: str = "fr", decimals: int = 0) -> str:
    """Format a number as the language writes it (French 1 234,5; English 1,234.5)."""
    _check_lang(lang)
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not exact.is_finite():
        return str(value)
    rounded = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    integer, _, fraction = f"{abs(rounded):.{decimals}f}".partition(".")
    grouped = f"{int(integer):,}"
    if lang == "fr":
        grouped = grouped.replace(",", _NNBSP)
        return sign + grouped + ("," + fraction if fraction else "")
    return sign + grouped + ("." + fraction if fraction else "")


def format_percent(rate: float, lang: str = "fr", decimals: int = 1) -> str:
    """Format a rate (0.912) as a percentage (French "91,2 %", English "91.2%")."""
    try:
        percent: float | Decimal = Decimal(str(rate)) * 100
    except InvalidOperation:
        percent = rate * 100
    number = format_number(percent, lang, decimals)
    return f"{number}{_NBSP}%" if lang == "fr" else f"{number}%"


def format_date(iso_date: str, lang: str = "fr") -> str:
    """Format an ISO date (French "1er septembre 2023", English "September 1, 2023")."""
    _check_lang(lang)
    try:
        day = date.fromisoformat(iso_date)
    except (TypeError, ValueError):
        return str(iso_date)
    month = _MONTHS[lang][day.month - 1]
    if lang == "fr":
        return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
    return f"{month} {day.day}, {day.year}"


def _month_parts(key: str, lang: str) -> tuple[str, str, str]:
    """Return (short month, year, full month and year) for a "YYYY-MM" key."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", key)
    if not match or not 1 <= int(match.group(2)) <= 12:
        return key, "", key
    year, month = match.group(1), int(match.group(2))
    return _MONTHS_SHORT[lang][month - 1], year, f"{_MONTHS[lang][month - 1]} {year}"


def _counted(count: float, lang: str, one: str, many: str) -> str:
    """Write a count with its noun, singular below 2 in French and for exactly 1 in English."""
    singular = count < 2 if lang == "fr" else count == 1
    return f"{format_number(count, lang)} {one if singular else many}"


# --- reading an answer -------------------------------------------------------------------------


def _indicators(answer: Mapping[str, Any]) -> Mapping[str, Any]:
    indicators = answer.get("indicators")
    return indicators if isinstance(indicators, Mapping) else {}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(indicators: Mapping[str, Any], name: str) -> float:
    value = indicators.get(name, 0)
    return value if _is_number(value) else 0


def _counts(indicators: Mapping[str, Any], name: str) -> dict[str, float]:
    value = indicators.get(name)
    if not isinstance(value, Mapping):
        return {}
    return {str(key): (count if _is_number(count) else 0) for key, count in value.items()}


def _ordered_keys(name: str, mapping: Mapping[str, Any]) -> list[str]:
    """Keys of an object indicator in a stable order: canonical codes first, then sorted."""
    canonical: Sequence[str] = ()
    if name in _REGION_KEYED:
        canonical = tuple(REGIONS)
    elif name in _TYPE_KEYED:
        canonical = ACTIVITY_TYPES
    keys = [str(key) for key in mapping]
    known = [key for key in canonical if key in keys]
    return known + sorted(key for key in keys if key not in canonical)


# --- CSV ---------------------------------------------------------------------------------------


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value) or isinstance(value, str):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def indicators_csv(answer: Mapping[str, Any]) -> str:
    """Return the indicators as CSV: header ``indicator,key,value``, one row per scalar or key."""
    indicators = _indicators(answer)
    names = [name for name in INDICATOR_NAMES if name in indicators]
    names += sorted(name for name in indicators if name not in INDICATOR_NAMES)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for name in names:
        value = indicators[name]
        if isinstance(value, Mapping):
            for key in _ordered_keys(name, value):
                writer.writerow((name, key, _csv_value(value[key])))
        else:
            writer.writerow((name, "", _csv_value(value)))
    return buffer.getvalue()


def scalar_values(indicators: Mapping[str, Any]) -> dict[str, Any]:
    """Only the scalar indicators (JSON numbers), in their order."""
    return {name: value for name, value in indicators.items() if _is_number(value)}


def series_csv(years: Sequence[Mapping[str, Any]]) -> str:
    """A series as CSV: header ``fiscal_year,indicator,value``, one row per year's scalar."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("fiscal_year", "indicator", "value"))
    for year in years:
        for name, value in year["indicators"].items():
            writer.writerow((year["fiscal_year"], name, _csv_value(value)))
    return buffer.getvalue()


# --- the report's content ----------------------------------------------------------------------


@dataclass(frozen=True)
class _ChartItem:
    label: str
    value: float
    display: str
    sublabel: str = ""


@dataclass(frozen=True)
class _Table:
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    numeric: tuple[bool, ...]
    caption: str = ""


@dataclass(frozen=True)
class _Chart:
    chart_id: str
    title: str
    kind: Literal["columns", "bars"]
    items: list[_ChartItem]
    table: _Table


@dataclass(frozen=True)
class _Section:
    section_id: str
    title: str
    statements: list[str]
    charts: list[_Chart] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)


@dataclass(frozen=True)
class _Report:
    lang: str
    title: str
    period: list[str]
    sections: list[_Section]


def _build_report(answer: Mapping[str, Any], lang: str) -> _Report:
    _check_lang(lang)
    text = _REPORT_TEXT[lang]
    ind = _indicators(answer)
    fy = str(answer.get("fiscal_year", ""))
    start, end = str(answer.get("start", "")), str(answer.get("end", ""))
    as_of = str(answer.get("as_of") or end)
    cut_off = format_date(as_of, lang)

    def num(value: float) -> str:
        return format_number(value, lang)

    def counted(count: float, one: str, many: str) -> str:
        return _counted(count, lang, one, many)

    total = _scalar(ind, "members.total")
    workers = _scalar(ind, "members.worker_members")
    joined = _scalar(ind, "members.joined")
    left = _scalar(ind, "members.left")
    by_month = _counts(ind, "members.joined_by_month")
    months_with_joins = sum(1 for count in by_month.values() if count >= 1)
    participating = _scalar(ind, "participation.participating_members")
    rate = format_percent(_scalar(ind, "participation.rate"), lang)
    activities = _scalar(ind, "activities.total")
    attendances = _scalar(ind, "attendance.member_attendances")
    participants = _scalar(ind, "attendance.participants")
    cine = _scalar(ind, "outreach.cine_discussions")
    reached = _scalar(ind, "outreach.people_reached")
    cine_regions = _scalar(ind, "outreach.regions")
    partners = _scalar(ind, "outreach.partners")
    sessions = _scalar(ind, "parcours.sessions")
    parcours_people = _scalar(ind, "parcours.participants")
    parcours_regions = _scalar(ind, "parcours.regions")
    mobilized = _scalar(ind, "ambassadors.mobilized")
    actions = _scalar(ind, "ambassadors.actions")
    ambassador_reach = _scalar(ind, "ambassadors.people_reached")
    active = _scalar(ind, "ambassadors.active")

    every_month = bool(by_month) and months_with_joins == len(by_month)
    if lang == "fr":
        members = [
            counted(total, "coopérative membre", "coopératives membres")
            + f" au {cut_off}, "
            + ("gérée par ses" if total < 2 else "toutes gérées par leurs")
            + " travailleur.euse.s ("
            + counted(workers, "membre travailleur.euse", "membres travailleur.euse.s")
            + ").",
            counted(joined, "adhésion", "adhésions")
            + " pendant l’exercice (réadhésions comprises)"
            + (
                f"{_NBSP}: de nouvelles coopératives se sont jointes au réseau chaque mois."
                if joined and every_month
                else f", dans {num(months_with_joins)} mois sur {num(len(by_month))}."
                if joined
                else "."
            ),
            counted(left, "départ", "départs") + " pendant l’exercice.",
        ]
        participation = [
            f"{rate} des membres ont participé à au moins une activité ("
            + counted(participating, "coopérative", "coopératives")
            + f" sur {num(total)}).",
            counted(activities, "activité tenue", "activités tenues")
            + ", "
            + counted(attendances, "présence", "présences")
            + " de coopératives membres, pour un total de "
            + counted(participants, "personne participante", "personnes participantes")
            + ".",
        ]
        outreach = [
            counted(reached, "personne rejointe", "personnes rejointes")
            + " par les ciné-discussions du documentaire ("
            + counted(cine, "ciné-discussion", "ciné-discussions")
            + " dans "
            + counted(cine_regions, "région", "régions")
            + ", avec "
            + counted(partners, "partenaire", "partenaires")
            + ").",
            counted(sessions, "séance", "séances")
            + " du Parcours COOP, "
            + ("qui a rejoint " if sessions < 2 else "qui ont rejoint ")
            + counted(parcours_people, "personne", "personnes")
            + " dans "
            + counted(parcours_regions, "région", "régions")
            + ".",
        ]
        ambassadors = [
            counted(mobilized, "ambassadeur.rice mobilisé.e", "ambassadeur.rice.s mobilisé.e.s")
            + f"{_NBSP}: "
            + (
                "un.e membre d’une coopérative de travail qui a réalisé "
                if mobilized < 2
                else "des membres de coopératives de travail qui ont réalisé "
            )
            + counted(actions, "action", "actions")
            + " de promotion du modèle, rejoignant "
            + counted(ambassador_reach, "personne", "personnes")
            + ".",
            counted(active, "ambassadeur.rice actif.ve", "ambassadeur.rice.s actif.ve.s")
            + f" au {cut_off}.",
        ]
    else:
        members = [
            counted(total, "member cooperative", "member cooperatives")
            + f" on {cut_off}, "
            + ("managed by its" if total == 1 else "all managed by their")
            + " workers ("
            + counted(workers, "worker-member", "worker-members")
            + ").",
            counted(joined, "join", "joins")
            + " during the fiscal year (readmissions included)"
            + (
                ": new cooperatives joined the network every month."
                if joined and every_month
                else f", in {num(months_with_joins)} of {num(len(by_month))} months."
                if joined
                else "."
            ),
            counted(left, "departure", "departures") + " during the fiscal year.",
        ]
        participation = [
            f"{rate} of members took part in at least one activity ("
            + f"{num(participating)} of {num(total)} cooperatives).",
            counted(activities, "activity", "activities")
            + " held, "
            + counted(attendances, "attendance", "attendances")
            + " by member cooperatives, for a total of "
            + counted(participants, "participant", "participants")
            + ".",
        ]
        outreach = [
            counted(reached, "person", "people")
            + " reached by the documentary's film discussions ("
            + counted(cine, "film discussion", "film discussions")
            + " in "
            + counted(cine_regions, "region", "regions")
            + ", with "
            + counted(partners, "partner", "partners")
            + ").",
            counted(sessions, "Parcours COOP session", "Parcours COOP sessions")
            + ", reaching "
            + counted(parcours_people, "person", "people")
            + " in "
            + counted(parcours_regions, "region", "regions")
            + ".",
        ]
        ambassadors = [
            counted(mobilized, "ambassador", "ambassadors")
            + " mobilized: "
            + (
                "a member of a worker cooperative who carried out "
                if mobilized == 1
                else "members of worker cooperatives who carried out "
            )
            + counted(actions, "outreach action", "outreach actions")
            + ", reaching "
            + counted(ambassador_reach, "person", "people")
            + ".",
            counted(active, "active ambassador", "active ambassadors") + f" on {cut_off}.",
        ]

    month_items: list[_ChartItem] = []
    month_rows: list[tuple[str, ...]] = []
    for key in sorted(by_month):
        short, year, full = _month_parts(key, lang)
        month_items.append(_ChartItem(short, by_month[key], num(by_month[key]), year))
        month_rows.append((full, num(by_month[key])))
    joins_chart = _Chart(
        "chart-joins-by-month",
        text["joins_chart"],
        "columns",
        month_items,
        _Table((text["month"], text["joins"]), month_rows, (False, True)),
    )

    by_region = _counts(ind, "members.by_region")
    region_codes = list(REGIONS) + sorted(code for code in by_region if code not in REGIONS)
    regions_chart = _Chart(
        "chart-members-by-region",
        text["regions_chart"],
        "bars",
        [
            _ChartItem(region_name(code), by_region.get(code, 0), num(by_region.get(code, 0)))
            for code in region_codes
        ],
        _Table(
            (text["code"], text["region"], text["member_coops"]),
            [(code, region_name(code), num(by_region.get(code, 0))) for code in region_codes],
            (False, False, True),
        ),
    )

    by_type = _counts(ind, "participation.by_activity_type")
    activities_by_type = _counts(ind, "activities.by_type")
    types = list(ACTIVITY_TYPES) + sorted(
        key for key in {*by_type, *activities_by_type} if key not in ACTIVITY_TYPES
    )
    types_chart = _Chart(
        "chart-participation-by-type",
        text["types_chart"],
        "bars",
        [
            _ChartItem(
                activity_type_label(kind, lang), by_type.get(kind, 0), num(by_type.get(kind, 0))
            )
            for kind in types
        ],
        _Table(
            (text["activity_type"], text["participating"], text["activities_held"]),
            [
                (
                    activity_type_label(kind, lang),
                    num(by_type.get(kind, 0)),
                    num(activities_by_type.get(kind, 0)),
                )
                for kind in types
            ],
            (False, True, True),
        ),
    )

    by_sector = _counts(ind, "members.by_sector")
    sector_tables = (
        [
            _Table(
                (text["sector"], text["member_coops"]),
                [
                    (sector, num(count))
                    for sector, count in sorted(by_sector.items(), key=lambda kv: (-kv[1], kv[0]))
                ],
                (False, True),
                caption=text["sectors_table"],
            )
        ]
        if by_sector
        else []
    )

    period = [text["period"].format(start=format_date(start, lang), end=format_date(end, lang))]
    if as_of and end and as_of < end:
        period.append(text["as_of"].format(as_of=cut_off))
    return _Report(
        lang=lang,
        title=text["title"].format(fy=fy),
        period=period,
        sections=[
            _Section(
                "members", text["members"], members, [joins_chart, regions_chart], sector_tables
            ),
            _Section("participation", text["participation"], participation, [types_chart]),
            _Section("outreach", text["outreach"], outreach),
            _Section("ambassadors", text["ambassadors"], ambassadors),
        ],
    )


# --- SVG charts --------------------------------------------------------------------------------


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _n(value: float) -> str:
    """Write a coordinate compactly."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _colon(lang: str) -> str:
    return f"{_NBSP}: " if lang == "fr" else ": "


def _svg_open(chart: _Chart, width: float, height: float, lang: str) -> list[str]:
    colon = _colon(lang)
    description = "; ".join(
        f"{item.label}{' ' + item.sublabel if item.sublabel else ''}{colon}{item.display}"
        for item in chart.items
    )
    cid = _attr(chart.chart_id)
    return [
        f'<svg class="chart" viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" '
        f'height="{_n(height)}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'font-family="{_FONT}" font-size="12" fill="{_TEXT_COLOUR}">',
        f'<title id="{cid}-title">{_text(chart.title)}</title>',
        f'<desc id="{cid}-desc">{_text(description)}</desc>',
    ]


def _svg_columns(chart: _Chart, lang: str) -> str:
    """Vertical bars with the label (and a second line) under each."""
    pad, slot, top, plot, bottom = 12.0, 44.0, 22.0, 160.0, 40.0
    count = max(len(chart.items), 1)
    width, height = pad * 2 + slot * count, top + plot + bottom
    peak = max((item.value for item in chart.items), default=0) or 1
    baseline = top + plot
    colon = _colon(lang)
    parts = _svg_open(chart, width, height, lang)
    parts.append(
        f'<line x1="{_n(pad)}" y1="{_n(baseline)}" x2="{_n(width - pad)}" y2="{_n(baseline)}" '
        f'stroke="{_AXIS_COLOUR}" stroke-width="1" />'
    )
    for index, item in enumerate(chart.items):
        centre = pad + slot * index + slot / 2
        bar = max(item.value, 0) / peak * plot
        name = f"{item.label} {item.sublabel}".strip()
        parts.append(
            f'<rect x="{_n(centre - slot * 0.31)}" y="{_n(baseline - bar)}" '
            f'width="{_n(slot * 0.62)}" height="{_n(bar)}" fill="{_BAR_COLOUR}">'
            f"<title>{_text(name + colon + item.display)}</title></rect>"
        )
        parts.append(
            f'<text x="{_n(centre)}" y="{_n(baseline - bar - 6)}" text-anchor="middle">'
            f"{_text(item.display)}</text>"
        )
        second = (
            f'<tspan x="{_n(centre)}" dy="14" font-size="10">{_text(item.sublabel)}</tspan>'
            if item.sublabel
            else ""
        )
        parts.append(
            f'<text x="{_n(centre)}" y="{_n(baseline + 16)}" text-anchor="middle">'
            f"<tspan>{_text(item.label)}</tspan>{second}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _svg_bars(chart: _Chart, lang: str) -> str:
    """Horizontal bars with the label on the left and the value at the end of the bar."""
    pad, row, area, value_room = 8.0, 26.0, 320.0, 56.0
    longest = max((len(item.label) for item in chart.items), default=0)
    label_room = min(max(math.ceil(longest * 6.8) + 10, 60), 260)
    width = pad * 2 + label_room + area + value_room
    height = pad * 2 + row * max(len(chart.items), 1)
    peak = max((item.value for item in chart.items), default=0) or 1
    origin = pad + label_room
    colon = _colon(lang)
    parts = _svg_open(chart, width, height, lang)
    parts.append(
        f'<line x1="{_n(origin)}" y1="{_n(pad)}" x2="{_n(origin)}" y2="{_n(height - pad)}" '
        f'stroke="{_AXIS_COLOUR}" stroke-width="1" />'
    )
    for index, item in enumerate(chart.items):
        middle = pad + row * index + row / 2
        bar = max(item.value, 0) / peak * area
        parts.append(
            f'<text x="{_n(origin - 8)}" y="{_n(middle)}" dy="0.35em" text-anchor="end">'
            f"{_text(item.label)}</text>"
        )
        parts.append(
            f'<rect x="{_n(origin)}" y="{_n(middle - row / 2 + 5)}" width="{_n(bar)}" '
            f'height="{_n(row - 10)}" fill="{_BAR_COLOUR}">'
            f"<title>{_text(item.label + colon + item.display)}</title></rect>"
        )
        parts.append(
            f'<text x="{_n(origin + bar + 6)}" y="{_n(middle)}" dy="0.35em">'
            f"{_text(item.display)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _svg(chart: _Chart, lang: str) -> str:
    return _svg_columns(chart, lang) if chart.kind == "columns" else _svg_bars(chart, lang)


# --- HTML report -------------------------------------------------------------------------------


@cache
def _template(name: str) -> str:
    """Read a template shipped in the package's ``templates`` folder."""
    folder = resources.files("services.reporting").joinpath("templates")
    return folder.joinpath(name).read_text(encoding="utf-8")


_PLACEHOLDER: Final = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Replace each ``{{ name }}`` once; inserted values are never scanned again."""

    def replace(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return _PLACEHOLDER.sub(replace, template)


def _html_table(table: _Table) -> str:
    def cell(tag: str, value: str, numeric: bool) -> str:
        align = ' class="num"' if numeric else ""
        return f"<{tag}{align}>{_text(value)}</{tag}>"

    head = "".join(
        cell("th", header, numeric)
        for header, numeric in zip(table.headers, table.numeric, strict=True)
    )
    body = "\n".join(
        "<tr>"
        + "".join(
            cell("td", value, numeric) for value, numeric in zip(row, table.numeric, strict=True)
        )
        + "</tr>"
        for row in table.rows
    )
    caption = f"<caption>{_text(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def annual_report_html(
    answer: Mapping[str, Any], lang: str = "fr", *, previous: Mapping[str, Any] | None = None
) -> str:
    """Return the annual report's indicator section as an HTML page with inline SVG charts."""
    report = _build_report(answer, lang)
    data_label = _REPORT_TEXT[lang]["data"]
    body: list[str] = [
        "<header>",
        f"<h1>{_text(report.title)}</h1>",
        *(f'<p class="period">{_text(line)}</p>' for line in report.period),
        "</header>",
    ]
    for section in report.sections:
        sid = _attr(section.section_id)
        body.append(f'<section id="{sid}" aria-labelledby="{sid}-title">')
        body.append(f'<h2 id="{sid}-title">{_text(section.title)}</h2>')
        body.append('<ul class="statements">')
        body.extend(f"<li>{_text(statement)}</li>" for statement in section.statements)
        body.append("</ul>")
        for chart in section.charts:
            body.append(f'<figure id="{_attr(chart.chart_id)}-figure">')
            body.append(f"<figcaption>{_text(chart.title)}</figcaption>")
            body.append(_svg(chart, lang))
            body.append(f"<details><summary>{_text(data_label)}</summary>")
            body.append(_html_table(chart.table))
            body.append("</details>")
            body.append("</figure>")
        body.extend(_html_table(table) for table in section.tables)
        body.append("</section>")
    return _fill(
        _template("report.html"),
        {
            "lang": _attr(lang),
            "title": _text(report.title),
            "style": _template("report.css"),
            "content": "\n".join(body),
        },
    )


# --- Markdown report ---------------------------------------------------------------------------

_MARKDOWN_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|#])")


def _md(value: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value)


def _md_table(table: _Table) -> list[str]:
    lines = [f"**{_md(table.caption)}**", ""] if table.caption else []
    lines.append("| " + " | ".join(_md(header) for header in table.headers) + " |")
    lines.append(
        "| " + " | ".join("---:" if numeric else "---" for numeric in table.numeric) + " |"
    )
    lines.extend("| " + " | ".join(_md(value) for value in row) + " |" for row in table.rows)
    return lines


def annual_report_markdown(
    answer: Mapping[str, Any], lang: str = "fr", *, previous: Mapping[str, Any] | None = None
) -> str:
    """Return the annual report's indicator section as Markdown, each chart as SVG and table.

    Each chart is an inline SVG block (raw HTML, without blank lines, so CommonMark keeps it
    as one HTML block) followed by a Markdown table of the same figures, for renderers that
    strip raw HTML.
    """
    report = _build_report(answer, lang)
    lines: list[str] = [f"# {_md(report.title)}", ""]
    for line in report.period:
        lines += [_md(line), ""]
    for section in report.sections:
        lines += [f"## {_md(section.title)}", ""]
        lines += [f"- {_md(statement)}" for statement in section.statements]
        lines.append("")
        for chart in section.charts:
            lines += [f"### {_md(chart.title)}", "", _svg(chart, lang), ""]
            lines += [*_md_table(chart.table), ""]
        for table in section.tables:
            lines += [*_md_table(table), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# --- dashboard ---------------------------------------------------------------------------------


def _script_json(value: Any) -> str:
    """Serialize data for a ``<script>`` element: no ``<``, ``>`` or ``&`` can end it early."""
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _raw_text(name: str, closing: str) -> str:
    """Read a template meant for a raw-text element, refusing one that would close it."""
    content = _template(name)
    lowered = content.lower()
    if f"</{closing}" in lowered or "<!--" in lowered:
        raise ValueError(f"template {name} cannot be inlined in <{closing}>")
    return content


def dashboard_html(
    lang: str = "fr",
    *,
    data: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
    years: Sequence[Mapping[str, Any]] | None = None,
    api_base: str = "",
) -> str:
    """Return the self-contained dashboard page of a fiscal year; it fetches its figures."""
    _check_lang(lang)
    fiscal_year = str(data["fiscal_year"])
    text = _DASHBOARD_TEXT[lang]
    other = "en" if lang == "fr" else "fr"
    config = {
        "fiscalYear": fiscal_year,
        "lang": lang,
        "apiBase": api_base.rstrip("/"),
        "regions": [[code, name] for code, name in REGIONS.items()],
        "activityTypes": list(ACTIVITY_TYPES),
        "typeLabels": ACTIVITY_TYPE_LABELS,
        "text": _DASHBOARD_TEXT,
    }

    def said(key: str) -> str:
        return _text(str(text[key]).replace("{fy}", fiscal_year))

    values: dict[str, str] = {
        "lang": _attr(lang),
        "other_lang": _attr(other),
        "switch_href": _attr(f"?lang={other}"),
        "style": _raw_text("dashboard.css", "style"),
        "script": _raw_text("dashboard.js", "script"),
        "config": _script_json(config),
    }
    for key in (
        "title", "brand", "heading", "switch", "loading", "noscript", "figures",
        "joins_by_month", "members_by_region", "participation_by_type",
        "participation_by_type_note", "outreach",
    ):  # fmt: skip
        values[key] = said(key)
    return _fill(_template("dashboard.html"), values)


__all__: Final = [
    "CSV_HEADER",
    "INDICATOR_NAMES",
    "annual_report_html",
    "annual_report_markdown",
    "dashboard_html",
    "format_date",
    "format_number",
    "format_percent",
    "indicators_csv",
]
