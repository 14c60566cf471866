"""Clients generated with openapi-python-client work against running services (contract §15).

For each service, the OpenAPI it serves is turned into a package by `openapi-python-client`,
installed in a temporary virtual environment (its build backend from PyPI, as `pip install`
gets it; its runtime dependencies borrowed from this environment), and a script using only
that package runs against the running service: a create, a list with typed parameters, a 422
read as a `ValidationProblem` naming its field, and (where a change takes `If-Match`) a 412.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import venv
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import AUTH, TOKEN, NatsServer, ServiceProcess

pytestmark = pytest.mark.e2e

SERVICES = ("membership", "events", "ambassadors", "reporting")
BIN = Path(sys.executable).parent

MEMBERSHIP_SCRIPT = """
import datetime, uuid
from reseau_coop_membership_api_client import AuthenticatedClient
from reseau_coop_membership_api_client.api.cooperatives import (
    update_cooperative, create_cooperative, list_cooperatives,
)
from reseau_coop_membership_api_client.models import (
    Cooperative, JoinRequest, PageCooperative, Problem, ProfileChange, Region, ValidationProblem,
)

client = AuthenticatedClient(base_url=URL, token=TOKEN)
created = create_cooperative.sync_detailed(
    client=client,
    body=JoinRequest(
        name="Coop du client", region=Region.MONTREAL, sector="informatique",
        worker_members=4, joined_on=datetime.date(2024, 1, 5),
    ),
    idempotency_key=str(uuid.uuid4()),
)
assert created.status_code == 201, created
assert isinstance(created.parsed, Cooperative) and created.parsed.region is Region.MONTREAL
assert created.headers["ETag"] == '"1"' and created.headers["Location"].endswith(
    str(created.parsed.id)
)

listed = list_cooperatives.sync(client=client, region=Region.MONTREAL, limit=1)
assert isinstance(listed, PageCooperative) and len(listed.items) == 1
assert listed.items[0].id == created.parsed.id

english = AuthenticatedClient(base_url=URL, token=TOKEN, headers={"Accept-Language": "en-CA"})
refused = create_cooperative.sync_detailed(
    client=english,
    body=JoinRequest(
        name="", region=Region.LAVAL, sector="informatique",
        worker_members=4, joined_on=datetime.date(2024, 1, 5),
    ),
)
assert refused.status_code == 422
assert isinstance(refused.parsed, ValidationProblem), refused.parsed
assert [e.field for e in refused.parsed.errors] == ["name"]
assert refused.parsed.errors[0].message == "must have at least 1 character(s)"
assert refused.headers["Content-Language"] == "en"

stale = update_cooperative.sync_detailed(
    created.parsed.id, client=client, body=ProfileChange(name="Nouveau nom"), if_match='"7"'
)
assert stale.status_code == 412
assert isinstance(stale.parsed, Problem) and stale.parsed.title == "Version périmée"
assert stale.headers["ETag"] == '"1"'
print("ok")
"""

EVENTS_SCRIPT = """
import datetime
from reseau_coop_events_api_client import AuthenticatedClient
from reseau_coop_events_api_client.api.activities import list_activities, schedule_activity
from reseau_coop_events_api_client.models import (
    Activity, ActivityFormat, ActivityType, PageActivity, Region, ScheduleRequest,
    ValidationProblem,
)

client = AuthenticatedClient(base_url=URL, token=TOKEN)
created = schedule_activity.sync_detailed(
    client=client,
    body=ScheduleRequest(
        type_=ActivityType.FORMATION, title="Gouvernance", date=datetime.date(2024, 3, 1),
        format_=ActivityFormat.IN_PERSON, region=Region.ESTRIE,
    ),
)
assert created.status_code == 201, created
assert isinstance(created.parsed, Activity)

listed = list_activities.sync(
    client=client, type_=ActivityType.FORMATION, region=Region.ESTRIE,
    from_=datetime.date(2024, 1, 1), to=datetime.date(2024, 12, 31), limit=10,
)
assert isinstance(listed, PageActivity) and [a.id for a in listed.items] == [created.parsed.id]

refused = schedule_activity.sync_detailed(
    client=client,
    body=ScheduleRequest(
        type_=ActivityType.FORMATION, title="", date=datetime.date(2024, 3, 1),
        format_=ActivityFormat.IN_PERSON, region=Region.ESTRIE,
    ),
)
assert refused.status_code == 422 and isinstance(refused.parsed, ValidationProblem)
assert [e.field for e in refused.parsed.errors] == ["title"]
assert refused.parsed.errors[0].message == "doit compter au moins 1 caractère(s)"
print("ok")
"""

AMBASSADORS_SCRIPT = """
import datetime, uuid
from reseau_coop_ambassadors_api_client import AuthenticatedClient
from reseau_coop_ambassadors_api_client.api.ambassadors import enroll_ambassador, list_ambassadors
from reseau_coop_ambassadors_api_client.models import (
    EnrollmentRequest, PageAmbassador, ValidationProblem,
)

client = AuthenticatedClient(base_url=URL, token=TOKEN)
listed = list_ambassadors.sync(client=client, cooperative_id=uuid.uuid4(), limit=5)
assert isinstance(listed, PageAmbassador) and listed.items == []

refused = enroll_ambassador.sync_detailed(
    client=client,
    body=EnrollmentRequest(
        cooperative_id=uuid.uuid4(), name="", enrolled_on=datetime.date(2024, 2, 1)
    ),
)
assert refused.status_code == 422 and isinstance(refused.parsed, ValidationProblem)
assert "name" in [e.field for e in refused.parsed.errors]
print("ok")
"""

REPORTING_SCRIPT = """
import datetime
from reseau_coop_reporting_api_client import Client
from reseau_coop_reporting_api_client.api.indicators import get_indicators as indicators
from reseau_coop_reporting_api_client.models import Indicators, ValidationProblem

client = Client(base_url=URL)
figures = indicators.sync_detailed("2023-2024", client=client, as_of=datetime.date(2024, 1, 31))
assert figures.status_code == 200 and isinstance(figures.parsed, Indicators), figures
refused = indicators.sync_detailed("2023-2025", client=client)
assert refused.status_code == 422 and isinstance(refused.parsed, ValidationProblem)
assert [e.field for e in refused.parsed.errors] == ["fiscal_year"]
print("ok")
"""

SCRIPTS = {
    "membership": MEMBERSHIP_SCRIPT,
    "events": EVENTS_SCRIPT,
    "ambassadors": AMBASSADORS_SCRIPT,
    "reporting": REPORTING_SCRIPT,
}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    """The four services on one NATS server."""
    root = tmp_path_factory.mktemp("generated-clients")
    nats = NatsServer(root / "nats").start()
    started: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            started[name] = ServiceProcess(name, root / name, nats.url).start()
        yield started
    finally:
        for process in started.values():
            process.stop()
        nats.stop()


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment; the clients' few dependencies come from this one's."""
    root = tmp_path_factory.mktemp("client-venv")
    venv.create(root, with_pip=True)
    site = next((root / "lib").glob("python3*/site-packages"))
    ours = next(p for p in map(Path, sys.path) if p.name == "site-packages" and "venv" in str(p))
    (site / "borrowed.pth").write_text(f"{ours}\n", encoding="utf-8")
    return root


def generate(service: ServiceProcess, work: Path) -> Path:
    """Generate the service's client package from the OpenAPI it serves."""
    document = httpx.get(service.url + "/openapi.json").json()
    source = work / f"{service.name}.openapi.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(source),
            "--fail-on-warning",
            "--output-path",
            str(work / f"{service.name}-client"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return work / f"{service.name}-client"


@pytest.mark.parametrize("name", SERVICES)
def test_a_generated_client_installs_and_drives_the_service(
    name: str, services: dict[str, ServiceProcess], client_venv: Path, tmp_path: Path
) -> None:
    service = services[name]
    package = generate(service, tmp_path)
    python = client_venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(package)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    script = f"URL = {service.url!r}\nTOKEN = {TOKEN!r}\n" + textwrap.dedent(SCRIPTS[name])

    run = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("ok")


def test_problems_answer_in_the_language_asked_with_content_language_and_vary(
    services: dict[str, ServiceProcess],
) -> None:
    url = services["membership"].url + "/v1/cooperatives"
    french = httpx.post(url, headers=AUTH, content=b"{not json")
    english = httpx.post(
        url, headers={**AUTH, "Accept-Language": "fr;q=0.4, en-CA;q=0.9"}, content=b"{not json"
    )
    no_token = httpx.get(url, headers={"Accept-Language": "en"})

    assert french.status_code == english.status_code == 422
    assert french.json()["type"] == english.json()["type"]
    assert french.json()["errors"][0]["field"] == english.json()["errors"][0]["field"] == ""
    assert french.json()["detail"] == "Le corps n'est pas du JSON valide."
    assert english.json()["detail"] == "The body is not valid JSON."
    assert french.headers["Content-Language"] == "fr"
    assert english.headers["Content-Language"] == "en"
    assert "Accept-Language" in english.headers["Vary"]
    assert no_token.status_code == 401 and no_token.json()["title"] == "Authentication required"
    assert httpx.get(services["membership"].url + "/nowhere").json()["title"] == (
        "Ressource introuvable"
    )
    too_large = httpx.post(
        url,
        headers={**AUTH, "Accept-Language": "en-GB"},
        content=b"x" * (1024 * 1024 + 1),
    )
    assert too_large.status_code == 413
    assert too_large.json()["title"] == "Content too large"
    assert too_large.headers["Content-Language"] == "en"


def test_docs_render_the_operations_in_headless_chromium_with_no_other_host_reachable(
    services: dict[str, ServiceProcess], tmp_path: Path
) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-headless-shell")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            services["membership"].url + "/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert "Reseau COOP membership API" in result.stdout, result.stderr[-2000:]
    assert "opblock" in result.stdout and "/v1/cooperatives/{cooperative_id}" in result.stdout
