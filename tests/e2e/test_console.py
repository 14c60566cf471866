"""The staff console in a real browser: the staff's journeys, accessibility, security (§14).

Playwright drives Debian's Chromium (no browser download) against real `coop serve` processes
and the console; every page visited is audited with axe-core.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support import ROOT, NatsServer, ServiceProcess, free_port, wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SERVICES = ("membership", "events", "ambassadors", "reporting", "partnerships")
TOKEN = "dev-admin-token"
READER = "console-reader-token"


@dataclass
class Platform:
    """The services, the console and what the audit found."""

    processes: dict[str, ServiceProcess]
    console_url: str
    violations: list[str] = field(default_factory=list)

    def api(self, service: str) -> httpx.Client:
        """A client of one service with the administrator's token."""
        return self.processes[service].client(TOKEN)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root: Path = tmp_path_factory.mktemp("console-e2e")
    nats = NatsServer(root / "nats").start()
    tokens = {TOKEN: ["read", "membership:write", "events:write", "ambassadors:write",
                      "partnerships:write", "personal:read", "privacy:admin", "reporting:admin"],
              READER: ["read"]}  # fmt: skip
    env = {"COOP_API_TOKENS": __import__("json").dumps(tokens)}
    processes = {name: ServiceProcess(name, root / name, nats.url, **env) for name in SERVICES}
    port = free_port()
    console_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COOP_")},
        "COOP_DATA_DIR": str(root / "console"),
        "COOP_CONSOLE_PORT": str(port),
        **{f"COOP_{name.upper()}_URL": p.url for name, p in processes.items()},
    }
    console = None
    try:
        for process in processes.values():
            process.start()
        console = subprocess.Popen(
            [sys.executable, "-m", "services.console.main"],
            env=console_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(root / "console.log").open("wb"),
        )
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/healthz"), timeout=30)
        yield Platform(processes, url)
    finally:
        if console is not None:
            console.terminate()
            console.wait(10)
        for process in processes.values():
            process.stop()
        nats.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, platform: Platform) -> Iterator[Page]:
    context = browser.new_context(base_url=platform.console_url, locale="fr-CA")
    opened = context.new_page()
    errors: list[str] = []
    visited: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("load", lambda p: visited.append(p.url))
    yield opened
    for url in dict.fromkeys(visited):
        opened.goto(url)
        audit(opened, platform)
    context.close()
    assert not errors, errors
    assert not platform.violations, platform.violations


AXE = Axe()


def audit(page: Page, platform: Platform) -> None:
    """Record the page's serious and critical axe-core violations."""
    results = AXE.run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            platform.violations.append(f"{page.url}: {violation['id']}: {violation['help']}")


def sign_in(page: Page, token: str = TOKEN, next_path: str = "/", *, valid: bool = True) -> None:
    page.goto(f"/sign-in?next={next_path}")
    page.get_by_label("Jeton d'accès").fill(token)
    page.get_by_role("button", name="Se connecter").click()
    if valid:
        page.wait_for_url(lambda url: "/sign-in" not in url)


def test_a_wrong_token_is_refused_next_to_its_field(page: Page) -> None:
    sign_in(page, "not-a-token", valid=False)
    expect(page.locator("#token-error")).to_contain_text("n'est pas reconnu")


def test_the_staff_journeys_record_exactly_what_the_indicators_then_show(
    page: Page, platform: Platform, tmp_path: Path
) -> None:
    sign_in(page)
    expect(page.get_by_role("heading", name="Accueil")).to_be_visible()

    page.get_by_role("link", name="Inscrire une coopérative").click()
    page.get_by_label("Nom").fill("Coop Console Alpha")
    page.get_by_label("Région").select_option("01")
    page.get_by_label("Secteur").select_option("informatique")
    page.get_by_label("Membres travailleur·euse·s").fill("6")
    page.get_by_label("Date d'adhésion").fill("2023-09-05")
    page.get_by_role("button", name="Inscrire").click()
    expect(page.get_by_role("heading", name="Coop Console Alpha")).to_be_visible()

    csv = tmp_path / "membres.csv"
    csv.write_text(
        "name;region;sector;worker_members;joined_on;external_ref\n"
        "Coop Console Beta;01;design;4;2023-09-06;console-beta\n"
        "Coop Console Gamma;03;alimentation;;2023-09-07;console-gamma\n",
        encoding="utf-8",
    )
    page.goto("/import")
    page.get_by_label("Type de fichier").select_option("cooperatives")
    page.get_by_label("Fichier CSV").set_input_files(str(csv))
    page.get_by_role("button", name="Vérifier le fichier").click()
    expect(page.get_by_role("status")).to_contain_text("2 ligne(s) vérifiée(s)")
    page.get_by_role("button", name="Confirmer et enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("2 ligne(s) enregistrée(s)")

    page.goto("/activities/new")
    page.get_by_label("Type").select_option("cine_discussion")
    page.get_by_label("Titre").fill("Ciné-discussion console")
    page.locator("#n-date").fill("2023-10-12")
    page.get_by_label("Formule").select_option("in_person")
    page.get_by_label("Région").select_option("01")
    page.get_by_role("button", name="Planifier").click()
    expect(page.get_by_role("heading", name="Ciné-discussion console")).to_be_visible()
    activity_url = page.url

    def attendance_page_lists_all_three() -> bool:
        page.get_by_role("link", name="Enregistrer les présences").click()
        page.get_by_label("Chercher une coopérative membre par son nom").fill("console")
        page.get_by_role("button", name="Chercher").click()
        found = page.get_by_role("checkbox").count() == 3
        if not found:
            page.goto(activity_url)
        return found

    wait_for(attendance_page_lists_all_three)
    page.get_by_label("Coop Console Alpha").check()
    page.get_by_label("Coop Console Beta").check()
    page.get_by_label("Nombre de personnes").fill("80")

    def recorded() -> bool:
        page.get_by_role("button", name="Enregistrer les présences").click()
        return page.url == activity_url

    wait_for(recorded)
    expect(page.locator("dd").filter(has_text="80")).to_have_count(1)

    # a mistake corrected: Alpha has 7 worker members, not 6
    page.goto("/cooperatives?q=alpha")
    page.get_by_role("link", name="Coop Console Alpha").click()
    page.get_by_text("Modifier le profil").click()
    page.locator("#p-workers").fill("7")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("dl.facts")).to_contain_text("7")

    page.goto("/ambassadors/new")
    wait_for(
        lambda: (
            page.reload()
            or page.get_by_label("Coopérative").inner_text().count("Coop Console") >= 1
        )
    )
    page.get_by_label("Coopérative").select_option(label="Coop Console Alpha")
    page.get_by_label("Nom").fill("Camille Exemple")
    page.get_by_label("Date d'inscription").fill("2023-09-10")

    def enrolled() -> bool:
        page.get_by_role("button", name="Inscrire").click()
        return "/ambassadors/new" not in page.url

    wait_for(enrolled)
    page.get_by_text("Noter une action").click()
    page.get_by_label("Genre").select_option("presentation")
    page.locator("#n-date").fill("2023-11-01")
    page.get_by_label("Personnes jointes").fill("25")
    page.get_by_role("button", name="Noter l'action").click()
    expect(page.locator("dl.facts")).to_contain_text("Coop Console Alpha")
    # the action's count was wrong: corrected in its row, and the figures follow
    page.locator("#ap-1").fill("30")
    page.get_by_role("button", name="Corriger").click()
    expect(page.get_by_role("cell", name="30", exact=True)).to_be_visible()

    def live() -> dict[str, Any]:
        with platform.api("reporting") as http:
            body: dict[str, Any] = http.get("/v1/indicators/2023-2024").json()["indicators"]
        return body

    wait_for(
        lambda: (
            live()["ambassadors.actions"] == 1
            and live()["outreach.people_reached"] == 80
            and live()["ambassadors.people_reached"] == 30
        )
    )
    figures = live()
    assert figures["members.total"] == 3
    assert figures["attendance.member_attendances"] == 2
    assert figures["attendance.participants"] == 2
    assert figures["members.worker_members"] == 6 + 1 + 4
    assert figures["ambassadors.people_reached"] == 30

    page.goto("/years/2023-2024")
    page.get_by_label("Note (par exemple : chiffres adoptés par le CA)").fill("AGA de test")
    page.get_by_role("button", name="Fermer l'exercice").click()
    expect(page.locator(".notice")).to_contain_text("Cet exercice a été fermé le")
    with platform.api("reporting") as http:
        closure = http.get("/v1/fiscal-years/2023-2024/closure").json()
    assert closure["indicators"]["members.total"] == 3
    assert closure["note"] == "AGA de test"


def test_a_read_only_token_never_sees_the_actions(page: Page) -> None:
    sign_in(page, READER)
    page.goto("/cooperatives")
    expect(page.get_by_role("link", name="Inscrire une coopérative")).to_have_count(0)
    page.goto("/activities")
    expect(page.get_by_role("link", name="Planifier une activité")).to_have_count(0)


def test_names_with_html_are_shown_as_text(page: Page, platform: Platform) -> None:
    with platform.api("membership") as http:
        created = http.post(
            "/v1/cooperatives",
            json={"name": "<script>window.owned=1</script>Coop", "region": "06",
                  "sector": "design", "worker_members": 2, "joined_on": "2022-01-01"},
        )  # fmt: skip
    assert created.status_code == 201, created.text
    sign_in(page, next_path="/cooperatives")
    page.goto(f"/cooperatives/{created.json()['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("<script>window.owned=1</script>Coop")
    assert page.evaluate("window.owned") is None


def test_a_journey_completes_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/sign-in")
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Tab")  # brand
    page.get_by_label("Jeton d'accès").focus()
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Accueil")).to_be_visible()
    page.get_by_role("link", name="Inscrire une coopérative").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/cooperatives/new")
    page.keyboard.press("Tab")
    for _ in range(12):
        if page.evaluate("document.activeElement.id") == "name":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("Coop Clavier")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    # Chromium's date field takes its digits segment by segment, in the browser's (en-US) order
    page.keyboard.type("09012023")
    page.keyboard.press("Tab")  # the NEQ, left empty
    page.keyboard.press("Tab")  # the submit button
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Coop Clavier")).to_be_visible()


def test_pages_work_without_javascript(browser: Browser, platform: Platform) -> None:
    context = browser.new_context(base_url=platform.console_url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, next_path="/cooperatives/new")
    page.get_by_label("Nom").fill("Coop Sans Script")
    page.get_by_label("Région").select_option("06")
    page.get_by_label("Secteur").select_option("design")
    page.get_by_label("Date d'adhésion").fill("2023-09-02")
    page.get_by_role("button", name="Inscrire").click()
    expect(page.get_by_role("heading", name="Coop Sans Script")).to_be_visible()
    context.close()


def test_a_refusal_shows_next_to_its_field_and_keeps_what_was_typed(
    page: Page, platform: Platform
) -> None:
    sign_in(page, next_path="/cooperatives/new")
    page.get_by_label("Nom").fill("Coop NEQ Invalide")
    page.get_by_label("Région").select_option("06")
    page.get_by_label("Secteur").select_option("design")
    page.get_by_label("Date d'adhésion").fill("2023-09-02")
    page.get_by_label("NEQ (numéro d'entreprise du Québec)").fill("123")
    page.get_by_role("button", name="Inscrire").click()
    expect(page.locator("#neq-error")).to_be_visible()
    audit(page, platform)
    expect(page.get_by_label("Nom")).to_have_value("Coop NEQ Invalide")


def test_an_expired_session_signs_in_again_then_returns_to_the_form(
    page: Page, platform: Platform
) -> None:
    sign_in(page, next_path="/activities/new")
    page.context.clear_cookies()
    page.get_by_label("Type").select_option("formation")
    page.get_by_label("Titre").fill("Après expiration")
    page.locator("#n-date").fill("2023-10-12")
    page.get_by_label("Formule").select_option("remote")
    page.get_by_role("button", name="Planifier").click()
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    page.get_by_label("Jeton d'accès").fill(TOKEN)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Planifier une activité")).to_be_visible()


def _member(platform: Platform, name: str, sector: str = "alimentation") -> str:
    """A member cooperative recorded through the API (joined in 2022)."""
    with platform.api("membership") as http:
        created = http.post(
            "/v1/cooperatives",
            json={"name": name, "region": "06", "sector": sector, "worker_members": 3,
                  "joined_on": "2022-01-10"},
        )  # fmt: skip
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_a_partner_and_a_table_with_a_member_an_action_and_a_placement_are_recorded(
    page: Page, platform: Platform
) -> None:
    _member(platform, "Coop Table Delta")
    sign_in(page, next_path="/partners")
    page.get_by_text("Ajouter un partenaire").click()
    page.get_by_label("Nom du partenaire").fill("Épicerie Console")
    page.get_by_label("Genre de partenaire").select_option("detaillant")
    page.get_by_label("Autres noms").fill("Épicerie C.")
    page.get_by_role("button", name="Ajouter le partenaire").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Épicerie Console")
    partner_id = page.url.rsplit("/", 1)[-1]

    # another partner may not take its alias: refused next to the name, what was typed kept
    page.goto("/partners")
    page.get_by_text("Ajouter un partenaire").click()
    page.get_by_label("Nom du partenaire").fill("épicerie c.")
    page.get_by_label("Genre de partenaire").select_option("autre")
    page.get_by_role("button", name="Ajouter le partenaire").click()
    expect(page.locator("#name-error")).to_be_visible()
    expect(page.get_by_label("Nom du partenaire")).to_have_value("épicerie c.")

    page.goto(f"/partners/{partner_id}")
    page.get_by_text("Modifier le partenaire").click()
    page.get_by_label("Autres noms").fill("Épicerie C.\nMarché Console")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("dl.facts")).to_contain_text("Marché Console")

    page.goto("/partners")
    page.get_by_text("Former une table sectorielle").click()
    page.get_by_label("Nom de la table").fill("Table alimentation console")
    page.get_by_label("Secteur de la table").select_option("alimentation")
    page.get_by_label("Formée le").fill("2023-01-15")
    page.get_by_role("button", name="Former la table").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Table alimentation console")
    table_url = page.url
    table_id = table_url.rsplit("/", 1)[-1]

    page.get_by_text("Ajouter une coopérative à la table").click()

    def member_added() -> bool:
        if page.get_by_label("Coopérative membre").inner_text().count("Coop Table Delta") == 0:
            page.reload()
            page.get_by_text("Ajouter une coopérative à la table").click()
            return False
        page.get_by_label("Coopérative membre").select_option(label="Coop Table Delta")
        page.get_by_label("Date d'arrivée à la table").fill("2023-02-01")
        page.get_by_role("button", name="Ajouter à la table").click()
        return page.url == table_url

    wait_for(member_added)
    expect(page.get_by_role("link", name="Coop Table Delta")).to_be_visible()

    page.get_by_text("Enregistrer une place chez un détaillant").click()
    page.locator("#rp-retailer").select_option(label="Épicerie Console")
    page.get_by_label("Début de la place").fill("2023-03-01")
    page.get_by_label("Note", exact=True).fill("Étagère locale")
    page.get_by_role("button", name="Enregistrer la place").click()
    expect(page.get_by_role("cell", name="Étagère locale")).to_be_visible()

    page.get_by_text("Noter une action de la table").click()
    page.get_by_label("Genre d'action").select_option("visibilite")
    page.get_by_label("Titre de l'action").fill("Kiosque au marché")
    page.get_by_label("Réalisée le").fill("2023-04-01")
    page.get_by_role("checkbox", name="Épicerie Console").check()
    page.get_by_role("button", name="Noter l'action").click()
    expect(page.get_by_role("cell", name="Kiosque au marché")).to_be_visible()

    page.get_by_label("Premier jour hors de la table").fill("2023-06-01")
    page.get_by_role("button", name="Retirer", exact=True).click()
    expect(page.get_by_role("cell", name="1 juin 2023")).to_be_visible()  # dates as people read

    with platform.api("partnerships") as http:
        table = http.get(f"/v1/sector-tables/{table_id}").json()
        placements = http.get(f"/v1/sector-tables/{table_id}/retail-placements").json()["items"]
        actions = http.get(f"/v1/sector-tables/{table_id}/actions").json()["items"]
        partner = http.get(f"/v1/partners/{partner_id}").json()
    assert [(m["joined_on"], m["left_on"]) for m in table["members"]] == [
        ("2023-02-01", "2023-06-01")
    ]
    assert [(p["retailer_id"], p["started_on"]) for p in placements] == [(partner_id, "2023-03-01")]
    assert [(a["kind"], a["partner_ids"]) for a in actions] == [("visibilite", [partner_id])]
    assert partner["aliases"] == ["Épicerie C.", "Marché Console"]


def test_an_attendance_is_corrected_then_withdrawn_from_the_activity_page(
    page: Page, platform: Platform
) -> None:
    cooperative_id = _member(platform, "Coop Présence Epsilon", "design")
    with platform.api("events") as http:
        activity = http.post(
            "/v1/activities",
            json={"type": "formation", "title": "Formation à corriger", "date": "2023-10-20",
                  "format": "in_person", "region": "06"},
        ).json()  # fmt: skip
        path = f"/v1/activities/{activity['id']}/attendances"
        wait_for(
            lambda: (
                http.post(
                    path, json={"cooperative_id": cooperative_id, "participants": 2}
                ).status_code
                == 201
            )
        )
    sign_in(page, next_path=f"/activities/{activity['id']}")
    page.locator("#att-1").fill("4")
    page.locator("#att-why-1").fill("feuille recomptée")
    page.get_by_role("button", name="Corriger").click()
    expect(page.locator("#att-1")).to_have_value("4")
    with platform.api("events") as http:
        assert [a["participants"] for a in http.get(path).json()["items"]] == [4]

    page.locator("#att-out-1").fill("doublon")
    page.get_by_role("button", name="Retirer").click()
    expect(page.get_by_text("Aucune coopérative.")).to_be_visible()
    with platform.api("events") as http:
        assert http.get(path).json()["items"] == []


def test_a_partner_is_added_with_the_keyboard_alone(page: Page) -> None:
    sign_in(page, next_path="/partners")
    page.get_by_text("Ajouter un partenaire").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "pa-name"
    page.keyboard.type("Université Clavier")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "pa-kind"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")  # the region, left empty
    page.keyboard.press("Tab")
    page.keyboard.type("UdeC")
    page.keyboard.press("Tab")  # the website, left empty
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Ajouter le partenaire"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Université Clavier")).to_be_visible()


def test_a_read_only_token_sees_partnerships_without_their_forms(
    page: Page, platform: Platform
) -> None:
    sign_in(page, READER, next_path="/partners")
    expect(page.get_by_role("heading", name="Partenariats")).to_be_visible()
    expect(page.get_by_text("Ajouter un partenaire")).to_have_count(0)
    expect(page.get_by_text("Former une table sectorielle")).to_have_count(0)
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(
        "/partners", form={"csrf_token": csrf or "", "name": "Interdit", "kind": "autre"}
    )
    assert refused.status == 403
    with platform.api("partnerships") as http:
        assert http.get("/v1/partners", params={"q": "Interdit"}).json()["items"] == []


def test_a_research_project_is_started_edited_completed_and_a_partner_paused(
    page: Page, platform: Platform
) -> None:
    with platform.api("partnerships") as http:
        first = http.post("/v1/partners", json={"name": "Université Projet A", "kind": "recherche"})
        second = http.post("/v1/partners", json={"name": "Centre Projet B", "kind": "recherche"})
    first_id, second_id = first.json()["id"], second.json()["id"]
    sign_in(page, next_path="/partners")
    page.get_by_text("Démarrer un projet de recherche").click()
    page.get_by_label("Titre du projet").fill("Étude console")
    page.get_by_label("Début du projet").fill("2023-02-01")
    page.get_by_role("checkbox", name="Université Projet A").check()
    page.get_by_role("button", name="Démarrer", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Étude console")
    project_id = page.url.rsplit("/", 1)[-1]

    page.get_by_text("Modifier le projet").click()
    page.get_by_role("checkbox", name="Centre Projet B").check()
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator("dl.facts")).to_contain_text("Centre Projet B")

    # an end before the start is refused next to the field, what was typed kept
    page.get_by_text("Terminer le projet").click()
    page.get_by_label("Fin du projet").fill("2023-01-01")
    page.get_by_role("button", name="Terminer", exact=True).click()
    expect(page.locator("#ended_on-error")).to_be_visible()
    expect(page.get_by_label("Fin du projet")).to_have_value("2023-01-01")
    page.get_by_label("Fin du projet").fill("2024-06-30")
    page.get_by_role("button", name="Terminer", exact=True).click()
    expect(page.locator("dl.facts")).to_contain_text("30 juin 2024")

    page.goto(f"/partners/{first_id}")
    page.get_by_role("button", name="Désactiver le partenaire").click()
    expect(page.locator("dl.facts")).to_contain_text("inactif")
    page.get_by_role("button", name="Réactiver le partenaire").click()
    expect(page.locator("dl.facts")).not_to_contain_text("inactif")

    with platform.api("partnerships") as http:
        project = http.get(f"/v1/research-projects/{project_id}").json()
        partner = http.get(f"/v1/partners/{first_id}").json()
    assert set(project["partner_ids"]) == {first_id, second_id}
    assert (project["status"], project["ended_on"]) == ("completed", "2024-06-30")
    assert partner["status"] == "active"


def test_the_console_answers_whoami_as_the_services_know_the_token(platform: Platform) -> None:
    reader = httpx.get(
        platform.console_url + "/v1/whoami", headers={"Authorization": f"Bearer {READER}"}
    )
    stranger = httpx.get(
        platform.console_url + "/v1/whoami", headers={"Authorization": "Bearer nobody-has-this"}
    )

    assert (reader.status_code, reader.json()) == (200, {"scopes": ["read"]})
    assert stranger.status_code == 401
    assert stranger.headers["content-type"].startswith("application/problem+json")
