"""Behaviour of the indicators' presentations: CSV, annual report (HTML, Markdown), dashboard."""

from __future__ import annotations

import copy
import csv
import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from services.reporting.indicators import NOT_IN_DIRECTORY, PARTNER_KINDS, TABLE_ACTION_KINDS
from services.reporting.presentation import (
    INDICATOR_NAMES,
    annual_report_html,
    annual_report_markdown,
    dashboard_html,
    format_date,
    format_number,
    format_percent,
    indicators_csv,
)
from services.reporting.regions import (
    ACTIVITY_TYPES,
    REGIONS,
    activity_type_label,
    region_name,
)

NBSP = "\u00a0"
NNBSP = "\u202f"
MONTHS = [f"2023-{m:02d}" for m in range(9, 13)] + [f"2024-{m:02d}" for m in range(1, 9)]
OBJECT_INDICATORS = {
    "members.joined_by_month",
    "members.by_region",
    "members.by_sector",
    "participation.by_activity_type",
    "activities.by_type",
    "outreach.partners_by_kind",
    "sector_tables.actions_by_kind",
}
SVG_BLOCK = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


def sample_answer() -> dict[str, Any]:
    """An indicators answer for 2023-2024 with every §5 indicator, close to the annual report."""
    by_region = {code: 0 for code in REGIONS}
    by_region.update({"01": 9, "02": 6, "03": 14, "05": 9, "06": 48, "11": 3, "16": 20, "17": 16})
    return {
        "fiscal_year": "2023-2024",
        "start": "2023-09-01",
        "end": "2024-08-31",
        "as_of": "2024-08-31",
        "indicators": {
            "members.total": 125,
            "members.joined": 30,
            "members.left": 4,
            "members.joined_by_month": {month: 1 + i % 4 for i, month in enumerate(MONTHS)},
            "members.by_region": by_region,
            "members.by_sector": {"alimentation": 40, "microbrasserie": 12, "conseil": 73},
            "members.worker_members": 1480,
            "participation.participating_members": 114,
            "participation.rate": 0.912,
            "participation.by_activity_type": {t: 7 * i for i, t in enumerate(ACTIVITY_TYPES)},
            "activities.total": 210,
            "activities.by_type": {t: 5 * i + 1 for i, t in enumerate(ACTIVITY_TYPES)},
            "attendance.member_attendances": 640,
            "attendance.participants": 1234,
            "outreach.cine_discussions": 40,
            "outreach.people_reached": 1012,
            "outreach.regions": 12,
            "outreach.partners": 25,
            "outreach.partners_by_kind": {
                **dict.fromkeys(PARTNER_KINDS, 0),
                "reseau_cooperatif": 2,
                "economie_sociale": 4,
                NOT_IN_DIRECTORY: 19,
            },
            "parcours.sessions": 8,
            "parcours.participants": 90,
            "parcours.regions": 5,
            "ambassadors.mobilized": 29,
            "ambassadors.actions": 57,
            "ambassadors.people_reached": 480,
            "ambassadors.active": 22,
            "research.projects": 2,
            "research.partners": 2,
            "sector_tables.active": 2,
            "sector_tables.member_cooperatives": 9,
            "sector_tables.actions": 6,
            "sector_tables.actions_by_kind": {
                **dict.fromkeys(TABLE_ACTION_KINDS, 0),
                "visibilite": 4,
                "representation": 2,
            },
            "sector_tables.retailers": 10,
        },
        "freshness": {
            "membership": {"last_sequence": 1432, "last_event_at": "2024-09-02T14:03:11Z"},
            "events": {"last_sequence": 880, "last_event_at": "2024-09-01T10:00:00Z"},
            "ambassadors": {"last_sequence": 0, "last_event_at": None},
        },
    }


def empty_answer() -> dict[str, Any]:
    """The answer for a well-formed year with no data: zeros everywhere."""
    answer = sample_answer()
    for name, value in answer["indicators"].items():
        answer["indicators"][name] = {k: 0 for k in value} if isinstance(value, dict) else 0
    answer["indicators"]["members.by_sector"] = {}
    return answer


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def svg_blocks(text: str) -> list[ET.Element]:
    return [ET.fromstring(block) for block in SVG_BLOCK.findall(text)]


def chart(text: str, chart_id: str) -> ET.Element:
    for svg in svg_blocks(text):
        if svg.get("aria-labelledby", "").startswith(chart_id):
            return svg
    raise AssertionError(f"no chart {chart_id}")


def visible(text: str) -> str:
    """Text with the spaces of French typography made ordinary, for readable assertions."""
    return text.replace(NBSP, " ").replace(NNBSP, " ")


# --- the sample itself ---------------------------------------------------------------------------


def test_the_sample_answer_carries_every_indicator_of_the_contract() -> None:
    assert set(sample_answer()["indicators"]) == set(INDICATOR_NAMES)
    assert len(INDICATOR_NAMES) == 33


# --- regions and labels --------------------------------------------------------------------------


def test_the_seventeen_regions_have_their_official_french_names() -> None:
    assert list(REGIONS) == [f"{code:02d}" for code in range(1, 18)]
    assert region_name("02") == "Saguenay–Lac-Saint-Jean"
    assert region_name("11") == "Gaspésie–Îles-de-la-Madeleine"
    assert region_name("17") == "Centre-du-Québec"
    assert region_name("99") == "99"


def test_activity_types_have_french_and_english_labels() -> None:
    for activity_type in ACTIVITY_TYPES:
        assert activity_type_label(activity_type, "fr")
        assert activity_type_label(activity_type, "en")
    assert activity_type_label("cine_discussion", "fr") == "Ciné-discussion"
    assert activity_type_label("cine_discussion", "en") == "Film discussion"
    assert activity_type_label("parcours_coop", "en") == "Parcours COOP"


# --- formatting ----------------------------------------------------------------------------------


def test_numbers_are_written_the_french_way_in_french_and_the_english_way_in_english() -> None:
    assert format_number(1234567.25, "fr", 1) == f"1{NNBSP}234{NNBSP}567,3"
    assert format_number(1234567.25, "en", 1) == "1,234,567.3"
    assert format_number(125, "fr") == "125"
    assert format_percent(0.912, "fr") == f"91,2{NBSP}%"
    assert format_percent(0.912, "en") == "91.2%"
    assert format_percent(0.9149, "fr") == f"91,5{NBSP}%"


def test_dates_are_written_in_words() -> None:
    assert format_date("2023-09-01", "fr") == "1er septembre 2023"
    assert format_date("2024-08-31", "fr") == "31 août 2024"
    assert format_date("2024-08-31", "en") == "August 31, 2024"


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_has_the_contract_header_and_one_row_per_scalar_with_an_empty_key() -> None:
    rows = csv_rows(indicators_csv(sample_answer()))
    assert rows[0] == ["indicator", "key", "value"]
    assert ["members.total", "", "125"] in rows
    assert ["participation.rate", "", "0.912"] in rows
    assert ["ambassadors.mobilized", "", "29"] in rows


def test_csv_has_one_row_per_key_of_each_object_indicator() -> None:
    answer = sample_answer()
    rows = csv_rows(indicators_csv(answer))[1:]
    indicators = answer["indicators"]
    expected = sum(len(v) if isinstance(v, dict) else 1 for v in indicators.values())
    assert len(rows) == expected
    region_rows = [row for row in rows if row[0] == "members.by_region"]
    assert [row[1] for row in region_rows] == list(REGIONS)
    assert ["members.by_region", "06", "48"] in region_rows
    type_rows = [row for row in rows if row[0] == "participation.by_activity_type"]
    assert [row[1] for row in type_rows] == list(ACTIVITY_TYPES)
    month_rows = [row for row in rows if row[0] == "members.joined_by_month"]
    assert [row[1] for row in month_rows] == MONTHS


def test_csv_lists_indicators_in_the_contract_order_whatever_the_answer_order() -> None:
    answer = sample_answer()
    answer["indicators"] = dict(reversed(list(answer["indicators"].items())))
    names = list(dict.fromkeys(row[0] for row in csv_rows(indicators_csv(answer))[1:]))
    assert names == list(INDICATOR_NAMES)
    assert indicators_csv(answer) == indicators_csv(sample_answer())


def test_csv_quotes_keys_that_need_it() -> None:
    answer = sample_answer()
    answer["indicators"]["members.by_sector"] = {'arts, "scène"\nvivante': 3}
    text = indicators_csv(answer)
    assert '"arts, ""scène""\nvivante"' in text
    assert ["members.by_sector", 'arts, "scène"\nvivante', "3"] in csv_rows(text)


# --- annual report, HTML -------------------------------------------------------------------------


def test_french_report_writes_the_published_figures_in_french() -> None:
    page = annual_report_html(sample_answer())
    text = visible(page)
    assert '<html lang="fr">' in page
    assert "Indicateurs de l’exercice 2023-2024" in text
    assert "Exercice du 1er septembre 2023 au 31 août 2024." in text
    assert "125 coopératives membres au 31 août 2024" in text
    assert "travailleur.euse.s" in text
    assert f"91,2{NBSP}% des membres ont participé à au moins une activité" in page
    assert "(114 coopératives sur 125)" in text
    assert f"1{NNBSP}012 personnes rejointes par les ciné-discussions du documentaire" in page
    assert "29 ambassadeur.rice.s mobilisé.e.s" in text
    assert "de nouvelles coopératives se sont jointes au réseau chaque mois" in text
    assert f"1{NNBSP}480" in page


def test_french_report_names_every_region_officially_and_every_activity_type() -> None:
    page = annual_report_html(sample_answer())
    for name in REGIONS.values():
        assert name in page
    for activity_type in ACTIVITY_TYPES:
        assert activity_type_label(activity_type, "fr") in page
    assert "Membres par région" in page
    assert "Participation par type d’activité" in page
    assert "sept." in page and "août" in page


def test_english_report_writes_the_figures_in_english_with_french_region_names() -> None:
    page = annual_report_html(sample_answer(), lang="en")
    assert '<html lang="en">' in page
    assert "Indicators for fiscal year 2023-2024" in page
    assert "125 member cooperatives on August 31, 2024" in page
    assert "91.2% of members took part in at least one activity" in page
    assert "1,012 people reached by the documentary's film discussions" in page
    assert "29 ambassadors mobilized" in page
    assert "Members by region" in page
    assert "Saguenay–Lac-Saint-Jean" in page and "Montréal" in page
    assert "Film discussion" in page
    assert "91,2" not in page
    assert "coopératives membres" not in page


def test_report_charts_are_well_formed_svg_with_one_bar_per_figure() -> None:
    page = annual_report_html(sample_answer())
    svgs = svg_blocks(page)
    assert len(svgs) == 3
    assert len(chart(page, "chart-joins-by-month").findall(".//rect")) == 12
    assert len(chart(page, "chart-members-by-region").findall(".//rect")) == 17
    assert len(chart(page, "chart-participation-by-type").findall(".//rect")) == 8
    regions_chart = chart(page, "chart-members-by-region")
    labels = [element.text for element in regions_chart.iter("text")]
    assert "Gaspésie–Îles-de-la-Madeleine" in labels
    montreal = [r for r in regions_chart.iter("rect") if "Montréal" in (r.findtext("title") or "")]
    assert len(montreal) == 1
    tallest = max(float(r.get("width", "0")) for r in regions_chart.iter("rect"))
    assert float(montreal[0].get("width", "0")) == tallest


def test_report_page_is_well_formed_and_uses_no_script_or_external_asset() -> None:
    page = annual_report_html(sample_answer())
    ET.fromstring(page.removeprefix("<!DOCTYPE html>"))
    assert "<script" not in page
    assert "http://" not in page and "https://" not in page


def test_report_escapes_text_taken_from_the_answer() -> None:
    answer = sample_answer()
    answer["fiscal_year"] = '<script>alert("fy")</script>'
    answer["indicators"]["members.by_sector"] = {'<img src=x onerror="boom()">&co': 2}
    answer["indicators"]["members.by_region"]["<b>99</b>"] = 1
    page = annual_report_html(answer)
    assert "<script" not in page
    assert "<img" not in page and "<b>" not in page
    assert "&lt;img src=x onerror=" in page
    ET.fromstring(page.removeprefix("<!DOCTYPE html>"))
    for svg in svg_blocks(page):
        assert svg.tag == "svg"


def test_report_of_an_empty_year_answers_zeros_in_the_singular() -> None:
    page = annual_report_html(empty_answer())
    text = visible(page)
    assert "0 coopérative membre au 31 août 2024" in text
    assert "0 % des membres ont participé" in text.replace("0,0 %", "0 %")
    assert len(svg_blocks(page)) == 3
    english = annual_report_html(empty_answer(), "en")
    assert "0 member cooperatives" in english and "0.0% of members" in english


def test_year_to_date_report_says_its_cut_off() -> None:
    answer = sample_answer()
    answer["as_of"] = "2024-03-15"
    assert "Données cumulées au 15 mars 2024." in annual_report_html(answer)
    assert "Year-to-date figures as of March 15, 2024." in annual_report_html(answer, "en")
    assert "cumulées" not in annual_report_html(sample_answer())


def test_report_refuses_an_unknown_language() -> None:
    with pytest.raises(ValueError):
        annual_report_html(sample_answer(), lang="de")
    with pytest.raises(ValueError):
        annual_report_markdown(sample_answer(), lang="es")


# --- annual report, Markdown ---------------------------------------------------------------------


def test_markdown_report_has_the_sections_statements_and_charts() -> None:
    document = annual_report_markdown(sample_answer())
    assert document.startswith("# Indicateurs de l’exercice 2023-2024\n")
    assert "\n## Membres\n" in document
    assert "\n## Rayonnement\n" in document
    assert f"\n- {f'91,2{NBSP}% des membres ont participé à au moins une activité'}" in document
    assert "- 125 coopératives membres" in document
    assert "- 29 ambassadeur.rice.s mobilisé.e.s" in document
    assert "| 06 | Montréal | 48 |" in document
    assert "| Ciné-discussion | 35 | 26 |" in document
    assert "<svg" not in document and "<" not in document.replace("\\<", "")
    assert document.count("les chiffres sont dans le tableau qui suit") == 3


def test_markdown_report_in_english() -> None:
    document = annual_report_markdown(sample_answer(), "en")
    assert document.startswith("# Indicators for fiscal year 2023-2024\n")
    assert "- 91.2% of members took part in at least one activity" in document
    assert "| Film discussion | 35 | 26 |" in document
    assert "| 11 | Gaspésie–Îles-de-la-Madeleine | 3 |" in document


def test_markdown_escapes_its_special_characters_in_data() -> None:
    answer = sample_answer()
    answer["indicators"]["members.by_sector"] = {"x": 1}
    labels = {"x": {"fr": "a|b_c*", "en": "a|b_c*"}}
    document = annual_report_markdown(answer, sector_labels=labels)
    assert r"| a\|b\_c\* | 1 |" in document


# --- report and dashboard: previous year, targets, closure, sectors ----------------------------

EXTERNAL_REFERENCE = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
YEARS = [{"fiscal_year": "2022-2023"}, {"fiscal_year": "2023-2024"}]


def closed_answer() -> dict[str, Any]:
    """The sample answer as a closed year's stored figures, with a target."""
    answer = sample_answer()
    answer.update(
        view="stored",
        closure={"closed_at": "2024-10-02T01:30:00.000000Z", "note": None},
        targets={"members.total": {"target": 150, "progress": 0.8333}},
    )
    return answer


def previous_answer() -> dict[str, Any]:
    answer = sample_answer()
    answer.update(fiscal_year="2022-2023", start="2022-09-01", end="2023-08-31")
    answer["indicators"]["members.total"] = 110
    return answer


def page_text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_the_report_says_on_which_date_a_closed_years_figures_were_closed() -> None:
    french = annual_report_html(closed_answer())
    assert "Chiffres de l’exercice clos le 1er octobre 2024" in french  # 21 h 30 in Québec
    english = annual_report_markdown(closed_answer(), "en")
    assert "Figures of the fiscal year as closed on October 1, 2024" in english
    assert "clos le" not in annual_report_html(sample_answer())


def test_the_report_shows_the_previous_years_value_the_change_and_the_target() -> None:
    document = annual_report_markdown(closed_answer(), "en", previous=previous_answer())
    assert "| Member cooperatives | 125 | 110 | +15 | 150 | 83% |" in document
    french = page_text(annual_report_html(closed_answer(), previous=previous_answer()))
    assert "Coopératives membres 125 110 +15 150 83 %" in french.replace(NBSP, " ")


def test_the_report_names_joins_and_rejoins_and_sectors_by_label() -> None:
    answer = sample_answer()
    answer["indicators"]["members.by_sector"] = {"microbrasserie": 3, "sante_services_sociaux": 1}
    english = annual_report_markdown(answer, "en")
    assert "30 joins and rejoins during the fiscal year" in english
    assert "| Microbreweries | 3 |" in english
    assert "microbrasserie" not in english and "sante_services_sociaux" not in english
    french = annual_report_markdown(answer)
    assert "30 adhésions et réadhésions pendant l’exercice" in french
    assert "| Microbrasseries | 3 |" in french


def test_sectors_defined_later_show_the_labels_given() -> None:
    answer = sample_answer()
    answer["indicators"]["members.by_sector"] = {"cirque": 2}
    labels = {"cirque": {"fr": "Arts du cirque", "en": "Circus arts"}}
    assert "| Circus arts | 2 |" in annual_report_markdown(answer, "en", sector_labels=labels)
    assert "Arts du cirque" in dashboard_html(data=answer, sector_labels=labels)


def test_dashboard_is_french_by_default_and_english_on_request() -> None:
    french = dashboard_html(data=sample_answer(), years=YEARS)
    assert '<html lang="fr">' in french
    assert "Indicateurs de l’exercice 2023-2024" in french
    english = dashboard_html("en", data=sample_answer(), years=YEARS)
    assert '<html lang="en">' in english
    assert "Indicators for fiscal year 2023-2024" in english
    with pytest.raises(ValueError):
        dashboard_html("de", data=sample_answer())


def test_dashboard_has_its_figures_in_the_html_and_needs_no_script() -> None:
    page = dashboard_html("en", data=closed_answer(), previous=previous_answer(), years=YEARS)
    assert "<script" not in page
    text = page_text(page)
    assert "125 Member cooperatives Previous year: 110 (+15)" in text
    assert "Target: 150 · Progress: 83%" in text
    assert "91.2%" in text
    assert len(SVG_BLOCK.findall(page)) == 3
    for svg in SVG_BLOCK.findall(page):
        ET.fromstring(svg)
        assert re.search(r'<svg[^>]* width="[\d.]+" height="[\d.]+"', svg)  # no layout shift


def test_dashboard_has_a_year_selector_links_and_a_description() -> None:
    page = dashboard_html(data=closed_answer(), years=YEARS)
    assert '<form class="years" method="get" action="/">' in page
    assert '<option value="2023-2024" selected>' in page
    assert '<option value="2022-2023">' in page
    assert 'href="/v1/reports/2023-2024?lang=fr"' in page
    assert 'href="/v1/indicators/2023-2024.csv"' in page
    assert 'href="/?year=2023-2024&amp;lang=fr&amp;view=live"' in page
    assert '<meta name="description"' in page
    assert '<link rel="icon" href="/favicon.svg"' in page


def test_dashboard_is_self_contained() -> None:
    page = dashboard_html(data=sample_answer())
    assert "http://" not in page and "https://" not in page
    assert not EXTERNAL_REFERENCE.search(page)
    assert not re.search(r"<link[^>]*rel=\"?stylesheet", page, re.I)
    assert "@import" not in page
    assert '<meta name="viewport"' in page


def test_dashboard_escapes_text_taken_from_the_answer() -> None:
    answer = sample_answer()
    hostile = '2023-2024"><script>alert("x")</script>'
    answer["fiscal_year"] = hostile
    answer["indicators"]["members.by_sector"] = {"<b>x</b>": 1}
    page = dashboard_html(data=answer)
    assert "<script" not in page and "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_presentations_do_not_change_the_answer() -> None:
    answer = sample_answer()
    before = copy.deepcopy(answer)
    indicators_csv(answer)
    annual_report_html(answer)
    annual_report_markdown(answer, "en")
    assert answer == before


def test_the_report_writes_the_partnership_figures_with_their_labels() -> None:
    answer = sample_answer()
    answer["indicators"].update(
        {
            "outreach.partners_by_kind": {
                "reseau_cooperatif": 1,
                "economie_sociale": 2,
                "non_repertorie": 1,
            },
            "research.projects": 2,
            "research.partners": 2,
            "sector_tables.active": 2,
            "sector_tables.member_cooperatives": 9,
            "sector_tables.actions": 4,
            "sector_tables.actions_by_kind": {"visibilite": 3, "mutualisation": 1},
            "sector_tables.retailers": 10,
        }
    )
    english = annual_report_markdown(answer, "en")
    assert "## Partnerships" in english
    assert "- 2 research projects under way during the fiscal year, with 2 partners." in english
    assert "- Space reserved for the tables' products at 10 retailers." in english
    assert "| Co-operative network | 1 |" in english
    assert "| Not in the directory | 1 |" in english
    assert "non_repertorie" not in english and "reseau_cooperatif" not in english
    french = annual_report_markdown(answer)
    assert "- 2 tables sectorielles actives, réunissant 9 coopératives membres" in french


def test_the_pages_style_sheets_are_inlined_unescaped() -> None:
    for page in (dashboard_html(data=sample_answer()), annual_report_html(sample_answer())):
        style = re.search(r"<style>(.*?)</style>", page, re.S)
        assert style and "&#34;" not in style.group(1) and "&quot;" not in style.group(1)
        assert "{" in style.group(1)


def test_a_sector_slug_no_list_names_is_written_as_words() -> None:
    answer = sample_answer()
    answer["indicators"]["members.by_sector"] = {"arts-scene": 2, "services_conseils": 1}
    document = annual_report_markdown(answer, "en")
    assert "| Arts scene | 2 |" in document
    assert "arts-scene" not in document and "services_conseils" not in document


def test_a_report_of_figures_as_recorded_says_at_which_date() -> None:
    answer = sample_answer()
    answer["as_recorded"] = "2024-09-15T12:00:00.000000Z"
    assert "Figures as recorded on September 15, 2024." in annual_report_markdown(answer, "en")
    assert "Chiffres tels qu’enregistrés au 15 septembre 2024." in annual_report_html(answer)
