"""Screenshots of the staff console in French, on the demo history: `docs/console-*.png`.

Run `python -m tests.e2e.console_screenshots [DIR]` (DIR defaults to `docs/`): it starts
`coop demo` in a scratch directory on free ports, signs in with the development token in
Debian's Chromium (no browser download), and saves one picture per main page.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bench.console import TOKEN, DemoPlatform, demo_platform
from tests.support import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]


def pages(demo: DemoPlatform) -> dict[str, str]:
    """The pages to show, by picture name: a cooperative with attendance, an activity, a table."""
    with demo.api("events") as events:
        activities = events.get("/v1/activities", params={"limit": 200}).json()["items"]
        attended = next(
            a for a in activities if a["member_attendances"] >= 3 and a["status"] == "scheduled"
        )
        cooperative_id = events.get(f"/v1/activities/{attended['id']}/attendances").json()["items"][
            0
        ]["cooperative_id"]
    with demo.api("partnerships") as partnerships:
        tables = partnerships.get("/v1/sector-tables").json()["items"]
        table = max(tables, key=lambda t: len(t["members"]))
    return {
        "cooperative": f"/cooperatives/{cooperative_id}",
        "activity": f"/activities/{attended['id']}",
        "attendance": f"/activities/{attended['id']}/attendance?q=courtepointe",
        "table": f"/sector-tables/{table['id']}",
        "partners": "/partners",
    }


def shoot(page: Page, path: str, picture: Path) -> None:
    """One page (unless already open), its full height, saved as a PNG."""
    if not page.url.endswith(path):
        page.goto(path)
    page.screenshot(path=str(picture), full_page=True)
    print(picture)


def main(argv: list[str]) -> int:
    """Take the pictures into the given directory (docs/ by default)."""
    out = Path(argv[0]) if argv else ROOT / "docs"
    with (
        tempfile.TemporaryDirectory(prefix="coop-shots-") as scratch,
        demo_platform(Path(scratch)) as demo,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(
            base_url=demo.urls["console"],
            locale="fr-CA",
            viewport={"width": 1200, "height": 800},
        )
        page = context.new_page()
        shoot(page, "/sign-in", out / "console-sign-in.png")
        page.get_by_label("Jeton d'accès").fill(TOKEN)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(lambda url: "/sign-in" not in url)
        for name, path in pages(demo).items():
            if name == "attendance":  # as staff fill it: a search, two ticks, the public
                page.goto(path)
                page.get_by_role("checkbox").nth(0).check()
                page.get_by_role("checkbox").nth(2).check()
                page.get_by_label("Nombre de personnes").fill("40")
            shoot(page, path, out / f"console-{name}.png")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
