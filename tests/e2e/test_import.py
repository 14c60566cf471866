"""`coop import` against real services (contract §13, §16.17): check whole, record once."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.importer.run import Endpoints, check_file, record_rows
from tests.support import ROOT, NatsServer, ServiceProcess, wait_for

pytestmark = pytest.mark.e2e

COOP = Path(sys.executable).parent / "coop"
SERVICES = ("membership", "events", "ambassadors", "partnerships")
EXAMPLES = ROOT / "docs" / "import"


@dataclass
class Platform:
    """Three services on one nats-server, and the environment `coop import` needs."""

    processes: dict[str, ServiceProcess]

    def env(self) -> dict[str, str]:
        """The importer's environment: each service's URL, the development token, French."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("COOP_")}
        env["LANG"] = "fr_CA.UTF-8"
        for name, process in self.processes.items():
            env[f"COOP_{name.upper()}_URL"] = process.url
        return env

    def http(self, service: str) -> httpx.Client:
        """A client of one service with the development token."""
        return self.processes[service].client()

    def count(self, service: str, path: str, **params: str) -> int:
        """How many records a list answers (every page)."""
        total, cursor = 0, None
        with self.http(service) as http:
            while True:
                query = {**params, "limit": "1000", **({"cursor": cursor} if cursor else {})}
                page = http.get(path, params=query).json()
                total += len(page["items"])
                cursor = page["next_cursor"]
                if not cursor:
                    return total


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root: Path = tmp_path_factory.mktemp("import-e2e")
    nats = NatsServer(root / "nats").start()
    processes = {name: ServiceProcess(name, root / name, nats.url) for name in SERVICES}
    try:
        for process in processes.values():
            process.start()
        yield Platform(processes)
    finally:
        for process in processes.values():
            process.stop()
        nats.stop()


def coop_import(
    platform: Platform, *args: str | Path, lang: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = platform.env()
    if lang:
        env["LANG"] = lang
    return subprocess.run(
        [str(COOP), "import", *map(str, args)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


COOPERATIVES = """\
name,region,sector,worker_members,joined_on,neq,external_ref,left_on,left_reason
Coop Import Un,06,informatique,5,2021-03-01,,imp-coop-1,,
Coop Import Deux,03,design,,2021-04-01,1199999901,imp-coop-2,,
Coop Import Trois,01,construction,8,2020-01-10,,imp-coop-3,2022-06-30,fermeture
"""


@pytest.fixture(scope="module")
def cooperatives(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write(tmp_path_factory.mktemp("files") / "cooperatives.csv", COOPERATIVES)
    result = coop_import(platform, "cooperatives", path)
    assert result.returncode == 0, result.stdout + result.stderr
    return path


def test_cooperatives_are_recorded_with_their_references_and_departures(
    platform: Platform, cooperatives: Path
) -> None:
    with platform.http("membership") as http:
        page = http.get("/v1/cooperatives", params={"external_ref": "imp-coop-3"}).json()
    [third] = page["items"]
    assert third["status"] == "left"
    assert third["left_on"] == "2022-06-30"
    with platform.http("membership") as http:
        second = http.get("/v1/cooperatives", params={"external_ref": "imp-coop-2"}).json()
    assert second["items"][0]["worker_members"] is None


def test_importing_the_same_file_again_records_nothing(
    platform: Platform, cooperatives: Path
) -> None:
    before = platform.count("membership", "/v1/cooperatives", status="left")
    result = coop_import(platform, "cooperatives", cooperatives)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 ligne(s) enregistrée(s), 3 déjà présente(s), 0 refusée(s)" in result.stdout
    assert platform.count("membership", "/v1/cooperatives", status="left") == before


def test_one_bad_row_stops_the_whole_file_and_names_its_line_and_column(
    platform: Platform, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "bad.csv",
        "name,region,sector,joined_on,external_ref\n"
        "Coop Bonne,06,design,2021-01-01,imp-bad-1\n"
        "Coop Mauvaise,06,design,2021-13-45,imp-bad-2\n"
        "Coop Région,99,design,2021-01-01,imp-bad-3\n",
    )
    report = tmp_path / "report.csv"
    result = coop_import(platform, "cooperatives", path, "--report", report)
    assert result.returncode == 1
    assert "ligne 3, colonne joined_on : " in result.stdout
    assert "ligne 4, colonne region : " in result.stdout
    with report.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(r["line"], r["column"]) for r in rows] == [("3", "joined_on"), ("4", "region")]
    with platform.http("membership") as http:
        page = http.get("/v1/cooperatives", params={"external_ref": "imp-bad-1"}).json()
    assert page["items"] == []


def test_problems_are_written_in_english_when_asked(platform: Platform, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "name,region,sector,joined_on,colour\nA,06,design,x,red\n")
    result = coop_import(platform, "cooperatives", path, lang="en_CA.UTF-8")
    assert result.returncode == 1
    assert "line 1, column colour: unknown column" in result.stdout


def test_dry_run_checks_and_records_nothing(platform: Platform, tmp_path: Path) -> None:
    path = write(
        tmp_path / "dry.csv",
        "name,region,sector,joined_on,external_ref\nCoop Essai,06,design,2021-01-01,imp-dry-1\n",
    )
    result = coop_import(platform, "cooperatives", path, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    with platform.http("membership") as http:
        page = http.get("/v1/cooperatives", params={"external_ref": "imp-dry-1"}).json()
    assert page["items"] == []


def test_a_taken_neq_is_found_by_the_check(
    platform: Platform, cooperatives: Path, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "neq.csv",
        "name,region,sector,joined_on,neq,external_ref\n"
        "Coop Doublon,06,design,2021-01-01,1199999901,imp-neq-1\n",
    )
    result = coop_import(platform, "cooperatives", path)
    assert result.returncode == 1
    assert "ligne 2, colonne neq : " in result.stdout


def test_identical_rows_without_reference_are_a_problem(platform: Platform, tmp_path: Path) -> None:
    path = write(
        tmp_path / "twice.csv",
        "name,region,sector,joined_on\nCoop Deux Fois,06,design,2021-01-01\n"
        "Coop Deux Fois,06,design,2021-01-01\n",
    )
    result = coop_import(platform, "cooperatives", path)
    assert result.returncode == 1
    assert "ligne 3 : " in result.stdout


def test_an_empty_file_and_a_missing_column_are_problems(
    platform: Platform, tmp_path: Path
) -> None:
    empty = coop_import(platform, "activities", write(tmp_path / "empty.csv", ""))
    assert empty.returncode == 1
    assert "ligne 1 : " in empty.stdout
    missing = coop_import(platform, "activities", write(tmp_path / "m.csv", "type,title\nx,y\n"))
    assert missing.returncode == 1
    assert "ligne 1, colonne date : colonne obligatoire absente" in missing.stdout


def test_a_missing_file_or_unknown_kind_is_a_usage_error(platform: Platform) -> None:
    assert coop_import(platform, "cooperatives", "/nonexistent.csv").returncode == 2
    assert coop_import(platform, "dragons", "/nonexistent.csv").returncode == 2


def test_activities_and_attendances_from_windows_1252_semicolon_files(
    platform: Platform, cooperatives: Path, tmp_path: Path
) -> None:
    activities = write(
        tmp_path / "activites.csv",
        "type;title;date;format;region;partners;external_ref\n"
        "cine_discussion;Ciné-discussion à Rimouski;2023-10-12;in_person;01;"
        "Pôle d'économie sociale du Bas-Saint-Laurent|CQCM;imp-act-1\n"
        "formation;Formation à distance;2023-11-02;remote;;;imp-act-2\n",
        encoding="cp1252",
    )
    result = coop_import(platform, "activities", activities)
    assert result.returncode == 0, result.stdout + result.stderr
    with platform.http("events") as http:
        [activity] = http.get("/v1/activities", params={"external_ref": "imp-act-1"}).json()[
            "items"
        ]
    assert activity["partners"] == ["Pôle d'économie sociale du Bas-Saint-Laurent", "CQCM"]

    attendances = write(
        tmp_path / "presences.csv",
        "activity_external_ref;cooperative_external_ref;participants\n"
        "imp-act-1;imp-coop-1;3\nimp-act-2;imp-coop-2;\n",
        encoding="cp1252",
    )
    result = wait_for(
        lambda: (r := coop_import(platform, "attendances", attendances)).returncode == 0 and r
    )
    assert "2 ligne(s) enregistrée(s)" in result.stdout
    with platform.http("events") as http:
        attended = http.get(f"/v1/activities/{activity['id']}").json()
    assert attended["member_attendances"] == 1
    again = coop_import(platform, "attendances", attendances)
    assert "0 ligne(s) enregistrée(s), 2 déjà présente(s)" in again.stdout


def test_attendance_of_a_cooperative_not_member_on_the_date_is_a_problem(
    platform: Platform, cooperatives: Path, tmp_path: Path
) -> None:
    activities = write(
        tmp_path / "a.csv",
        "type,title,date,format,region,external_ref\nformation,Tard,2023-05-01,in_person,06,"
        "imp-late\n",
    )
    assert coop_import(platform, "activities", activities).returncode == 0
    attendances = write(
        tmp_path / "p.csv",
        "activity_external_ref,cooperative_external_ref\nimp-late,imp-coop-3\n"
        "imp-late,nobody-knows\n",
    )
    result = coop_import(platform, "attendances", attendances)
    assert result.returncode == 1
    assert "ligne 2, colonne cooperative_external_ref : " in result.stdout
    assert "ligne 3, colonne cooperative_external_ref : " in result.stdout


def test_ambassadors_need_a_reference_and_their_actions_follow(
    platform: Platform, cooperatives: Path, tmp_path: Path
) -> None:
    without = write(
        tmp_path / "sans.csv",
        "cooperative_external_ref,name,enrolled_on\nimp-coop-1,Camille Exemple,2022-01-01\n",
    )
    assert coop_import(platform, "ambassadors", without).returncode == 1
    ambassadors = write(
        tmp_path / "amb.csv",
        "cooperative_external_ref,name,email,enrolled_on,external_ref\n"
        "imp-coop-1,Camille Exemple,camille@example.org,2022-01-01,imp-amb-1\n",
    )
    result = wait_for(
        lambda: (r := coop_import(platform, "ambassadors", ambassadors)).returncode == 0 and r
    )
    assert "camille@example.org" not in result.stdout + result.stderr
    actions = write(
        tmp_path / "actions.csv",
        "ambassador_external_ref,kind,performed_on,people_reached\n"
        "imp-amb-1,presentation,2023-10-01,40\nimp-amb-1,kiosque,2021-10-01,10\n",
    )
    early = coop_import(platform, "ambassador-actions", actions)
    assert early.returncode == 1
    assert "ligne 3, colonne performed_on : " in early.stdout
    actions.write_text(
        "ambassador_external_ref,kind,performed_on,people_reached\n"
        "imp-amb-1,presentation,2023-10-01,40\n"
    )
    assert coop_import(platform, "ambassador-actions", actions).returncode == 0
    assert coop_import(platform, "ambassador-actions", actions).returncode == 0
    with platform.http("ambassadors") as http:
        [ambassador] = http.get("/v1/ambassadors", params={"external_ref": "imp-amb-1"}).json()[
            "items"
        ]
    assert ambassador["actions"] == 1


def test_an_import_killed_halfway_then_run_again_records_every_row_once(
    platform: Platform, tmp_path: Path
) -> None:
    rows = "".join(f"Coop Interrompue {n},06,design,2021-01-01\n" for n in range(400))
    path = write(tmp_path / "many.csv", "name,region,sector,joined_on\n" + rows)
    env = platform.env()
    process = subprocess.Popen(
        [str(COOP), "import", "cooperatives", str(path)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: platform.count("membership", "/v1/cooperatives", q="interrompue") > 20)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert platform.count("membership", "/v1/cooperatives", q="interrompue") < 400
    time.sleep(0.2)
    result = coop_import(platform, "cooperatives", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert platform.count("membership", "/v1/cooperatives", q="interrompue") == 400


def test_the_example_files_import_in_order_and_a_second_run_records_nothing(
    platform: Platform,
) -> None:
    kinds = {
        "01": "cooperatives", "02": "activities", "03": "attendances",
        "04": "public-attendance", "05": "ambassadors", "06": "ambassador-actions",
        "07": "partners", "08": "research-projects",
    }  # fmt: skip
    files = sorted(EXAMPLES.glob("*.csv"))
    assert [f.name[:2] for f in files] == list(kinds)
    for file in files:
        kind = kinds[file.name[:2]]
        result = wait_for(
            lambda kind=kind, file=file: (
                (r := coop_import(platform, kind, file)).returncode == 0 and r
            )
        )
        assert "refusée" not in result.stdout or "0 refusée(s)" in result.stdout
    for file in files:
        again = coop_import(platform, kinds[file.name[:2]], file)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "\n0 ligne(s) enregistrée(s)" in "\n" + again.stdout.splitlines()[-1]


def test_a_sector_not_on_the_list_is_found_by_the_check(platform: Platform, tmp_path: Path) -> None:
    path = write(
        tmp_path / "sector.csv",
        "name,region,sector,joined_on,external_ref\n"
        "Coop Secteur Connu,06,design,2021-01-01,imp-sector-1\n"
        "Coop Secteur Inconnu,06,astrologie,2021-01-01,imp-sector-2\n",
    )
    for args in (("--dry-run",), ()):
        result = coop_import(platform, "cooperatives", path, *args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "ligne 3, colonne sector : « astrologie »" in result.stdout
    assert platform.count("membership", "/v1/cooperatives", q="coop secteur") == 0


def test_a_neq_given_twice_in_one_file_is_found_by_the_check(
    platform: Platform, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "neq-twice.csv",
        "name,region,sector,joined_on,neq,external_ref\n"
        "Coop NEQ Premier,06,design,2021-01-01,1199999977,imp-neq-twice-1\n"
        "Coop NEQ Second,06,design,2021-01-01,1199999977,imp-neq-twice-2\n",
    )
    result = coop_import(platform, "cooperatives", path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ligne 3, colonne neq : ce NEQ figure déjà à la ligne 2" in result.stdout
    assert platform.count("membership", "/v1/cooperatives", q="coop neq") == 0


def test_a_cooperative_file_without_references_imports_again_with_its_neq(
    platform: Platform, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "neq-hash.csv",
        "name,region,sector,joined_on,neq\nCoop Sans Référence,06,design,2021-01-01,1199999966\n",
    )
    assert coop_import(platform, "cooperatives", path).returncode == 0
    again = coop_import(platform, "cooperatives", path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 ligne(s) enregistrée(s), 1 déjà présente(s)" in again.stdout


PARTNERS = """\
name,kind,aliases,external_ref
Fonds d’essai Import,institution,FEI Import,imp-part-1
"""


def test_a_partner_name_already_in_the_directory_is_found_by_the_check(
    platform: Platform, tmp_path: Path
) -> None:
    first = write(tmp_path / "partners.csv", PARTNERS)
    assert coop_import(platform, "partners", first).returncode == 0
    again = coop_import(platform, "partners", first)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 déjà présente(s)" in again.stdout
    path = write(
        tmp_path / "taken.csv",
        "name,kind,aliases,external_ref\n"
        "Partenaire Libre Import,autre,,imp-part-2\n"
        "FONDS D'ESSAI\u00a0 IMPORT,institution,,imp-part-3\n"
        "Autre Nom Import,autre,fei import,imp-part-4\n",
    )
    result = coop_import(platform, "partners", path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ligne 3, colonne name : le partenaire « Fonds d’essai Import »" in result.stdout
    assert "ligne 4, colonne aliases : le partenaire « Fonds d’essai Import »" in result.stdout
    assert platform.count("partnerships", "/v1/partners", q="import") == 1


def test_two_partner_rows_whose_names_normalize_equal_are_found_by_the_check(
    platform: Platform, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "twice.csv",
        "name,kind,aliases,external_ref\n"
        "Centre Jumeau,recherche,CJ Jumeau,imp-twin-1\n"
        "centre  jumeau,recherche,,imp-twin-2\n"
        "Centre Différent,recherche,cj\u00a0 JUMEAU|CJ-Jumeau,imp-twin-3\n",
    )
    result = coop_import(platform, "partners", path, "--dry-run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ligne 3, colonne name : le nom « centre jumeau » figure déjà à la ligne 2" in (
        result.stdout
    )
    assert "ligne 4, colonne aliases : le nom « cj jumeau » figure déjà à la ligne 2" in (
        result.stdout
    )
    assert platform.count("partnerships", "/v1/partners", q="jumeau") == 0


def test_attendance_on_a_cancelled_activity_is_found_by_the_check(
    platform: Platform, cooperatives: Path, tmp_path: Path
) -> None:
    activities = write(
        tmp_path / "a.csv",
        "type,title,date,format,region,external_ref\n"
        "formation,Annulée,2023-06-01,in_person,06,imp-cancelled\n",
    )
    assert coop_import(platform, "activities", activities).returncode == 0
    with platform.http("events") as http:
        [activity] = http.get("/v1/activities", params={"external_ref": "imp-cancelled"}).json()[
            "items"
        ]
        cancelled = http.post(f"/v1/activities/{activity['id']}/cancellation", json={})
        assert cancelled.status_code == 200, cancelled.text
    members = write(
        tmp_path / "m.csv",
        "activity_external_ref,cooperative_external_ref\nimp-cancelled,imp-coop-1\n",
    )
    result = coop_import(platform, "attendances", members)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ligne 2, colonne activity_external_ref : l'activité est annulée" in result.stdout
    public = write(
        tmp_path / "p.csv",
        "activity_external_ref,count,external_ref\nimp-cancelled,12,imp-public-cancelled\n",
    )
    result = coop_import(platform, "public-attendance", public)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ligne 2, colonne activity_external_ref : l'activité est annulée" in result.stdout
    with platform.http("events") as http:
        after = http.get(f"/v1/activities/{activity['id']}").json()
    assert (after["member_attendances"], after["public_attendance"]) == (0, 0)


def _ambassador(platform: Platform, tmp_path: Path, ref: str) -> dict[str, object]:
    path = write(
        tmp_path / f"{ref}.csv",
        "cooperative_external_ref,name,enrolled_on,external_ref\n"
        f"imp-coop-1,Alex Exemple,2022-01-01,{ref}\n",
    )
    wait_for(lambda: coop_import(platform, "ambassadors", path).returncode == 0)
    with platform.http("ambassadors") as http:
        [ambassador] = http.get("/v1/ambassadors", params={"external_ref": ref}).json()["items"]
    return dict(ambassador)


def test_an_action_after_the_ambassador_ended_is_found_by_the_check(
    platform: Platform, cooperatives: Path, tmp_path: Path
) -> None:
    ambassador = _ambassador(platform, tmp_path, "imp-amb-ended")
    with platform.http("ambassadors") as http:
        retired = http.post(
            f"/v1/ambassadors/{ambassador['id']}/retirement", json={"retired_on": "2023-01-01"}
        )
        assert retired.status_code == 200, retired.text
    actions = write(
        tmp_path / "late.csv",
        "ambassador_external_ref,kind,performed_on,external_ref\n"
        "imp-amb-ended,presentation,2022-12-31,imp-late-1\n"
        "imp-amb-ended,kiosque,2023-01-01,imp-late-2\n",
    )
    result = coop_import(platform, "ambassador-actions", actions)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ligne 3, colonne performed_on : l'ambassadeur·rice a cessé le 2023-01-01" in (
        result.stdout
    )
    with platform.http("ambassadors") as http:
        actions_page = http.get(f"/v1/ambassadors/{ambassador['id']}/actions").json()
    assert actions_page["items"] == []


def test_a_refusal_at_recording_is_in_the_imports_language_at_its_column(
    platform: Platform, cooperatives: Path, tmp_path: Path
) -> None:
    ambassador = _ambassador(platform, tmp_path, "imp-amb-race")
    data = (
        b"ambassador_external_ref,kind,performed_on,external_ref\n"
        b"imp-amb-race,presentation,2022-03-01,imp-race-1\n"
    )
    urls = {name: process.url for name, process in platform.processes.items()}
    endpoints = Endpoints(urls, platform.env().get("COOP_TOKEN") or "dev-admin-token")

    async def run() -> list[str]:
        async with endpoints.client("en") as client:
            check = await check_file("ambassador-actions", data, endpoints, client)
            assert check.clean, check.problems
            with platform.http("ambassadors") as http:
                moved = http.patch(
                    f"/v1/ambassadors/{ambassador['id']}", json={"enrolled_on": "2022-06-01"}
                )
                assert moved.status_code == 200, moved.text
            summary = await record_rows(check, endpoints, client)
        return [p.describe("en") for p in summary.refused]

    [refusal] = asyncio.run(run())
    with platform.http("ambassadors") as http:
        answers = {
            lang: http.post(
                f"/v1/ambassadors/{ambassador['id']}/actions",
                json={"kind": "presentation", "performed_on": "2022-03-01"},
                headers={"Accept-Language": lang},
            ).json()["detail"]
            for lang in ("en", "fr")
        }
    assert refusal == f"line 2, column performed_on: the service refused: {answers['en']}"
    assert answers["en"] != answers["fr"]


def test_a_departure_reason_is_checked_as_the_service_checks_it(
    platform: Platform, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "reason.csv",
        "name,region,sector,joined_on,external_ref,left_on,left_reason\n"
        "Coop Départ Bon,06,design,2021-01-01,imp-reason-1,2022-01-01,fusion\n"
        f"Coop Départ Long,06,design,2021-01-01,imp-reason-2,2022-01-01,{'x' * 2001}\n",
    )
    result = coop_import(platform, "cooperatives", path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ligne 3, colonne left_reason : est trop long (au plus 2000 caractères)" in (
        result.stdout
    )
    assert platform.count("membership", "/v1/cooperatives", q="coop départ") == 0


def test_a_cooperative_readmitted_since_its_imported_departure_is_already_there(
    platform: Platform, tmp_path: Path
) -> None:
    header = "name,region,sector,joined_on,external_ref,left_on\n"
    path = write(
        tmp_path / "left.csv", header + "Coop Revenue,06,design,2020-01-01,imp-back-1,2021-01-01\n"
    )
    assert coop_import(platform, "cooperatives", path).returncode == 0
    with platform.http("membership") as http:
        [cooperative] = http.get("/v1/cooperatives", params={"external_ref": "imp-back-1"}).json()[
            "items"
        ]
        back = http.post(
            f"/v1/cooperatives/{cooperative['id']}/readmission", json={"rejoined_on": "2022-01-01"}
        )
        assert back.status_code == 200, back.text
    again = coop_import(platform, "cooperatives", path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 ligne(s) enregistrée(s), 1 déjà présente(s), 0 refusée(s)" in again.stdout
    earlier = write(
        tmp_path / "earlier.csv",
        header + "Coop Revenue,06,design,2020-01-01,imp-back-1,2021-06-01\n",
    )
    result = coop_import(platform, "cooperatives", earlier)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ligne 2, colonne left_on : left_on doit être après le début de la période en cours" in (
        result.stdout
    )
    with platform.http("membership") as http:
        now = http.get(f"/v1/cooperatives/{cooperative['id']}").json()
    assert now["status"] == "active"


def test_an_attendance_already_recorded_imports_again_after_a_membership_correction(
    platform: Platform, tmp_path: Path
) -> None:
    cooperative = write(
        tmp_path / "c.csv",
        "name,region,sector,joined_on,external_ref\nCoop Corrigée,06,design,2021-01-01,imp-fix-1\n",
    )
    assert coop_import(platform, "cooperatives", cooperative).returncode == 0
    activity = write(
        tmp_path / "a.csv",
        "type,title,date,format,region,external_ref\n"
        "formation,Avant correction,2023-02-01,in_person,06,imp-fix-act\n",
    )
    assert coop_import(platform, "activities", activity).returncode == 0
    attendance = write(
        tmp_path / "p.csv",
        "activity_external_ref,cooperative_external_ref\nimp-fix-act,imp-fix-1\n",
    )
    wait_for(lambda: coop_import(platform, "attendances", attendance).returncode == 0)
    with platform.http("membership") as http:
        [found] = http.get("/v1/cooperatives", params={"external_ref": "imp-fix-1"}).json()["items"]
        corrected = http.post(
            f"/v1/cooperatives/{found['id']}/membership-correction",
            json={"periods": [{"start": "2023-06-01", "end": None}]},
        )
        assert corrected.status_code == 200, corrected.text
    again = coop_import(platform, "attendances", attendance)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 ligne(s) enregistrée(s), 1 déjà présente(s), 0 refusée(s)" in again.stdout


def test_an_attendance_given_twice_in_one_file_is_found_by_the_check(
    platform: Platform, cooperatives: Path, tmp_path: Path
) -> None:
    activity = write(
        tmp_path / "a.csv",
        "type,title,date,format,region,external_ref\n"
        "formation,Deux fois,2023-03-01,in_person,06,imp-twice-act\n",
    )
    assert coop_import(platform, "activities", activity).returncode == 0
    attendance = write(
        tmp_path / "p.csv",
        "activity_external_ref,cooperative_external_ref,participants\n"
        "imp-twice-act,imp-coop-1,2\nimp-twice-act,imp-coop-2,1\nimp-twice-act,imp-coop-1,5\n",
    )
    result = wait_for(
        lambda: (
            (r := coop_import(platform, "attendances", attendance)).returncode == 1
            and "colonne cooperative_external_ref" in r.stdout
            and r
        )
    )
    assert "ligne 4, colonne cooperative_external_ref : la présence de cette coopérative" in (
        result.stdout
    )
    with platform.http("events") as http:
        [found] = http.get("/v1/activities", params={"external_ref": "imp-twice-act"}).json()[
            "items"
        ]
    assert found["member_attendances"] == 0
