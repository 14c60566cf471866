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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import jinja2

from services.reporting.indicators import INDICATOR_NAMES
from services.reporting.regions import (
    ACTIVITY_TYPES,
    LANGUAGES,
    REGIONS,
    activity_type_label,
    region_name,
)
from shared import vocabulary
from shared.calendar import QUEBEC_TIME_ZONE

CSV_HEADER: Final[tuple[str, str, str]] = ("indicator", "key", "value")

_REGION_KEYED: Final = frozenset({"members.by_region"})
_TYPE_KEYED: Final = frozenset({"participation.by_activity_type", "activities.by_type"})

_NBSP: Final = "\u00a0"  # before a French colon or percent sign
_NNBSP: Final = "\u202f"  # French thousands separator

SectorLabels = Mapping[str, Mapping[str, str]]
"""Sector slug → {"fr": label, "en": label}."""

_WHITE_SPACE: Final = re.compile(r"[ \t\r\n]+")

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
    month = words(lang).months[day.month - 1]
    if lang == "fr":
        return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
    return f"{month} {day.day}, {day.year}"


def _month_parts(key: str, lang: str) -> tuple[str, str, str]:
    """Return (short month, year, full month and year) for a "YYYY-MM" key."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", key)
    if not match or not 1 <= int(match.group(2)) <= 12:
        return key, "", key
    year, month = match.group(1), int(match.group(2))
    return words(lang).months_short[month - 1], year, f"{words(lang).months[month - 1]} {year}"


def _counted(count: float, lang: str, one: str, many: str) -> str:
    """Write a count with its noun, singular below 2 in French and for exactly 1 in English."""
    singular = count < 2 if lang == "fr" else count == 1
    return f"{format_number(count, lang)} {one if singular else many}"


# --- words of each language (templates/words.<lang>.j2) -------------------------------------


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("services.reporting", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@cache
def words(lang: str) -> Any:
    """The language's words: `text`, `indicator_labels` and a macro per sentence."""
    _check_lang(lang)
    helpers = {
        "n": lambda value: format_number(value, lang),
        "counted": lambda count, one, many: _counted(count, lang, one, many),
        "rate": lambda value: format_percent(value, lang),
        "day": lambda iso: format_date(iso, lang),
        "NBSP": _NBSP,
    }
    return _environment().get_template(f"words.{lang}.j2").make_module(vars=helpers)


def sentence(markup: Any) -> str:
    """A macro's sentence on one line (its template's line breaks become spaces)."""
    return _WHITE_SPACE.sub(" ", str(markup)).strip()


def sector_label(slug: str, lang: str, labels: SectorLabels | None = None) -> str:
    """A sector's label in the language: the service's own labels, else the vocabulary's."""
    known = (labels or {}).get(slug)
    if known and known.get(lang):
        return str(known[lang])
    built_in = vocabulary.label(vocabulary.SECTOR_LABELS, slug, lang)
    if built_in != slug:
        return built_in
    # a slug stored before v2 that no list names (§16.14): written as words, never as a slug
    return re.sub(r"[-_]+", " ", slug).strip().capitalize() or slug


def closed_day(closed_at: str) -> str:
    """The date (in Québec) of a closure's RFC 3339 instant."""
    try:
        moment = datetime.fromisoformat(closed_at.replace("Z", "+00:00"))
    except ValueError:
        return closed_at[:10]
    return moment.astimezone(QUEBEC_TIME_ZONE).date().isoformat()


def _signed(value: float, lang: str, *, percent: bool) -> str:
    if percent:  # a change of rate is in percentage points
        points = format_number(Decimal(str(abs(value))) * 100, lang, 1)
        text = words(lang).text["points"].format(points=points)
    else:
        text = format_number(abs(value), lang, 0 if float(value).is_integer() else 2)
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


@dataclass(frozen=True)
class Figure:
    """One scalar indicator as people see it: value, previous year, change, target."""

    name: str
    label: str
    value: str
    previous: str
    change: str
    target: str
    progress: str


def figures(
    answer: Mapping[str, Any], previous: Mapping[str, Any] | None, lang: str
) -> list[Figure]:
    """The scalar indicators beside the previous year's value, the change and the target."""
    said = words(lang)
    shown = _indicators(answer)
    before = _indicators(previous) if previous is not None else {}
    targets = answer.get("targets") or {}
    rows: list[Figure] = []
    for name in [n for n in INDICATOR_NAMES if n in shown] + [
        n for n in shown if n not in INDICATOR_NAMES
    ]:
        value = shown[name]
        if not _is_number(value):
            continue
        percent = name.endswith(".rate")

        def write(number: Any, percent: bool = percent) -> str:
            return format_percent(number, lang) if percent else format_number(number, lang)

        had: Any = before.get(name)
        goal = targets.get(name) if isinstance(targets, Mapping) else None
        progress: Any = goal.get("progress") if isinstance(goal, Mapping) else None
        rows.append(
            Figure(
                name=name,
                label=str(said.indicator_labels.get(name, name)),
                value=write(value),
                previous=write(had) if _is_number(had) else "—",
                change=_signed(value - had, lang, percent=percent) if _is_number(had) else "—",
                target=write(goal["target"]) if isinstance(goal, Mapping) else "—",
                progress=format_percent(progress, lang, 0) if _is_number(progress) else "—",
            )
        )
    return rows


def comparison_table(
    answer: Mapping[str, Any], previous: Mapping[str, Any] | None, lang: str
) -> _Table:
    """The key figures as a table: this year, the previous year, the change, the target."""
    text = words(lang).text
    return _Table(
        (
            text["indicator"],
            text["this_year"],
            text["previous_year"],
            text["change"],
            text["target"],
            text["progress"],
        ),
        [
            (f.label, f.value, f.previous, f.change, f.target, f.progress)
            for f in figures(answer, previous, lang)
        ],
        (False, True, True, True, True, True),
    )


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


def _build_report(
    answer: Mapping[str, Any],
    lang: str,
    previous: Mapping[str, Any] | None = None,
    sector_labels: SectorLabels | None = None,
) -> _Report:
    _check_lang(lang)
    text = words(lang).text
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
    said = words(lang)
    members = [
        sentence(said.members_total(total, workers, cut_off)),
        sentence(said.members_joined(joined, months_with_joins, len(by_month), every_month)),
        sentence(said.members_left(left)),
    ]
    participation = [
        sentence(said.participation_rate(rate, participating, total)),
        sentence(said.activities(activities, attendances, participants)),
    ]
    outreach = [
        sentence(said.cine(reached, cine, cine_regions, partners)),
        sentence(said.parcours(sessions, parcours_people, parcours_regions)),
    ]
    ambassadors = [
        sentence(said.ambassadors_mobilized(mobilized, actions, ambassador_reach)),
        sentence(said.ambassadors_active(active, cut_off)),
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
                    (sector_label(sector, lang, sector_labels), num(count))
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
    if answer.get("as_recorded"):
        recorded_on = format_date(closed_day(str(answer["as_recorded"])), lang)
        period.append(text["as_recorded"].format(day=recorded_on))
    closure = answer.get("closure")
    if answer.get("view") == "stored" and isinstance(closure, Mapping):
        period.append(sentence(words(lang).closed_on(closed_day(str(closure["closed_at"])))))
    figures = comparison_table(answer, previous, lang)
    return _Report(
        lang=lang,
        title=text["title"].format(fy=fy),
        period=period,
        sections=[
            _Section("figures", text["figures"], [], [], [figures]),
            _Section(
                "members", text["members"], members, [joins_chart, regions_chart], sector_tables
            ),
            _Section("participation", text["participation"], participation, [types_chart]),
            _Section("outreach", text["outreach"], outreach),
            _Section("ambassadors", text["ambassadors"], ambassadors),
            *_partnerships(ind, lang),
        ],
    )


_PARTNERSHIP_INDICATORS: Final = (
    "outreach.partners_by_kind",
    "research.projects",
    "sector_tables.active",
    "sector_tables.retailers",
)


def _partnerships(ind: Mapping[str, Any], lang: str) -> list[_Section]:
    """The report's partnership figures (§9), when the answer carries them."""
    if not any(name in ind for name in _PARTNERSHIP_INDICATORS):
        return []
    said = words(lang)
    text = said.text

    def num(value: float) -> str:
        return format_number(value, lang)

    statements = [
        sentence(
            said.research(_scalar(ind, "research.projects"), _scalar(ind, "research.partners"))
        ),
        sentence(
            said.sector_tables(
                _scalar(ind, "sector_tables.active"),
                _scalar(ind, "sector_tables.member_cooperatives"),
                _scalar(ind, "sector_tables.actions"),
            )
        ),
        sentence(said.retailers(_scalar(ind, "sector_tables.retailers"))),
    ]

    def kind_label(kind: str) -> str:
        if kind == vocabulary.NOT_IN_DIRECTORY:
            return str(text["not_in_directory"])
        return vocabulary.label(vocabulary.PARTNER_KIND_LABELS, kind, lang)

    tables: list[_Table] = []
    by_kind = _counts(ind, "outreach.partners_by_kind")
    if by_kind:
        tables.append(
            _Table(
                (text["partner_kind"], text["partners"]),
                [(kind_label(kind), num(count)) for kind, count in by_kind.items()],
                (False, True),
                caption=text["partners_by_kind"],
            )
        )
    actions = _counts(ind, "sector_tables.actions_by_kind")
    if actions:
        tables.append(
            _Table(
                (text["action_kind"], text["actions"]),
                [
                    (vocabulary.label(vocabulary.TABLE_ACTION_KIND_LABELS, kind, lang), num(n))
                    for kind, n in actions.items()
                ],
                (False, True),
                caption=text["table_actions_by_kind"],
            )
        )
    return [_Section("partnerships", text["partnerships"], statements, [], tables)]


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
    """Vertical bars with the label (and a second line) under each.

    Narrow slots (30 units for a month) keep twelve columns about 380 units wide, so that the
    chart scaled to a 390-pixel screen still writes its labels at about 10 pixels.
    """
    pad, slot, top, plot, bottom = 8.0, 30.0, 20.0, 150.0, 36.0
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
            f'<rect x="{_n(centre - slot * 0.34)}" y="{_n(baseline - bar)}" '
            f'width="{_n(slot * 0.68)}" height="{_n(bar)}" fill="{_BAR_COLOUR}">'
            f"<title>{_text(name + colon + item.display)}</title></rect>"
        )
        parts.append(
            f'<text x="{_n(centre)}" y="{_n(baseline - bar - 5)}" text-anchor="middle">'
            f"{_text(item.display)}</text>"
        )
        second = (
            f'<tspan x="{_n(centre)}" dy="13">{_text(item.sublabel)}</tspan>'
            if item.sublabel
            else ""
        )
        parts.append(
            f'<text x="{_n(centre)}" y="{_n(baseline + 15)}" text-anchor="middle" '
            f'font-size="11"><tspan>{_text(item.label)}</tspan>{second}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _svg_bars(chart: _Chart, lang: str) -> str:
    """Horizontal bars, each under its label, with the value at the end of the bar.

    The labels above the bars keep the chart 372 units wide whatever their length, so that
    on a 390-pixel screen it is drawn at nearly its own size (text about 11.5 pixels).
    """
    pad, label_height, bar_height, gap, area, value_room = 8.0, 15.0, 13.0, 8.0, 300.0, 56.0
    row = label_height + bar_height + gap
    width = pad * 2 + area + value_room
    height = pad * 2 + row * max(len(chart.items), 1) - gap
    peak = max((item.value for item in chart.items), default=0) or 1
    origin = pad
    colon = _colon(lang)
    parts = _svg_open(chart, width, height, lang)
    parts.append(
        f'<line x1="{_n(origin)}" y1="{_n(pad)}" x2="{_n(origin)}" y2="{_n(height - pad)}" '
        f'stroke="{_AXIS_COLOUR}" stroke-width="1" />'
    )
    for index, item in enumerate(chart.items):
        top = pad + row * index
        bar = max(item.value, 0) / peak * area
        middle = top + label_height + bar_height / 2
        parts.append(f'<text x="{_n(origin + 4)}" y="{_n(top + 11)}">{_text(item.label)}</text>')
        parts.append(
            f'<rect x="{_n(origin)}" y="{_n(top + label_height)}" width="{_n(bar)}" '
            f'height="{_n(bar_height)}" fill="{_BAR_COLOUR}">'
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
    answer: Mapping[str, Any],
    lang: str = "fr",
    *,
    previous: Mapping[str, Any] | None = None,
    sector_labels: SectorLabels | None = None,
) -> str:
    """Return the annual report's indicator section as an HTML page with inline SVG charts."""
    report = _build_report(answer, lang, previous, sector_labels)
    text = words(lang).text
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
        if section.statements:
            body.append('<ul class="statements">')
            body.extend(f"<li>{_text(statement)}</li>" for statement in section.statements)
            body.append("</ul>")
        for chart in section.charts:
            body.append(f'<figure id="{_attr(chart.chart_id)}-figure">')
            body.append(f"<figcaption>{_text(chart.title)}</figcaption>")
            body.append(_svg(chart, lang))
            body.append(f"<details><summary>{_text(text['data'])}</summary>")
            body.append(_html_table(chart.table))
            body.append("</details>")
            body.append("</figure>")
        body.extend(_html_table(table) for table in section.tables)
        body.append("</section>")
    fy = str(answer.get("fiscal_year", ""))
    return (
        _environment()
        .get_template("report.html")
        .render(
            lang=lang,
            title=report.title,
            description=text["description"].format(fy=fy),
            style=_template("report.css"),
            content="\n".join(body),
        )
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
    answer: Mapping[str, Any],
    lang: str = "fr",
    *,
    previous: Mapping[str, Any] | None = None,
    sector_labels: SectorLabels | None = None,
) -> str:
    """Return the annual report's indicator section as Markdown.

    No raw SVG: each chart is its title, a line of alternative text and a Markdown table of
    its figures (the HTML report draws them).
    """
    report = _build_report(answer, lang, previous, sector_labels)
    chart_alt = words(lang).text["chart_alt"]
    lines: list[str] = [f"# {_md(report.title)}", ""]
    for line in report.period:
        lines += [_md(line), ""]
    for section in report.sections:
        lines += [f"## {_md(section.title)}", ""]
        lines += [f"- {_md(statement)}" for statement in section.statements]
        lines.append("")
        for chart in section.charts:
            alt = chart_alt.format(title=chart.title)
            lines += [f"### {_md(chart.title)}", "", f"*{_md(alt)}*", ""]
            lines += [*_md_table(chart.table), ""]
        for table in section.tables:
            lines += [*_md_table(table), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# --- dashboard ---------------------------------------------------------------------------------


HEADLINE: Final = (
    "members.total",
    "members.joined",
    "participation.rate",
    "outreach.people_reached",
    "ambassadors.mobilized",
    "activities.total",
)
"""The figures the dashboard shows first, as cards."""


def favicon_svg() -> str:
    """The network's small icon."""
    return _template("favicon.svg")


def dashboard_html(
    lang: str = "fr",
    *,
    data: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
    years: Sequence[Mapping[str, Any]] | None = None,
    sector_labels: SectorLabels | None = None,
) -> str:
    """The dashboard of a fiscal year, its figures in the page (it works without JavaScript)."""
    _check_lang(lang)
    said = words(lang)
    text = said.text
    other = "en" if lang == "fr" else "fr"
    report = _build_report(data, lang, previous, sector_labels)
    fy = str(data["fiscal_year"])
    everything = figures(data, previous, lang)
    by_name = {figure.name: figure for figure in everything}
    charts = [
        {"id": chart.chart_id, "title": chart.title, "svg": _svg(chart, lang)}
        for section in report.sections
        for chart in section.charts
    ]
    by_sector = _counts(_indicators(data), "members.by_sector")
    sectors = [
        (sector_label(slug, lang, sector_labels), format_number(count, lang))
        for slug, count in sorted(by_sector.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    listed = list(years or [{"fiscal_year": fy}])
    if fy not in [str(item["fiscal_year"]) for item in listed]:
        listed.append({"fiscal_year": fy})
        listed.sort(key=lambda item: str(item["fiscal_year"]))
    closure = data.get("closure")
    stored = data.get("view") == "stored"
    other_view = ""
    if isinstance(closure, Mapping):
        other_view = f"/?year={fy}&lang={lang}" + ("&view=live" if stored else "")
    streams = data.get("freshness") or {}
    freshness = "; ".join(
        f"{said.streams.get(name, name)}{_colon(lang)}"
        + (
            format_date(str(info["last_event_at"])[:10], lang)
            if info.get("last_event_at")
            else text["never"]
        )
        for name, info in streams.items()
        if isinstance(info, Mapping)
    )
    return (
        _environment()
        .get_template("dashboard.html")
        .render(
            lang=lang,
            other_lang=other,
            text=text,
            colon=_colon(lang),
            title=text["dashboard_title"].format(fy=fy),
            description=text["description"].format(fy=fy),
            heading=report.title,
            period=report.period,
            fiscal_year=fy,
            years=listed,
            report_href=f"/v1/reports/{fy}?lang={lang}",
            csv_href=f"/v1/indicators/{fy}.csv",
            switch_href=f"/?year={fy}&lang={other}",
            other_view_href=other_view,
            other_view_label=text["stored_link"] if not stored else text["live_link"],
            headline=[by_name[name] for name in HEADLINE if name in by_name],
            all_figures=everything,
            charts=charts,
            sectors=sectors,
            freshness=freshness or text["never"],
            style=_template("dashboard.css"),
        )
    )


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
