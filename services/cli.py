"""The `coop` command (contract §8)."""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import NoReturn

from shared.errors import ConfigurationError

FISCAL_YEAR = re.compile(r"^(\d{4})-(\d{4})$")


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        """Print a one-line error and exit 2."""
        self.exit(2, f"coop: error: {message}\n")


def parser() -> Parser:
    """The command's arguments."""
    from services import registry

    root = Parser(prog="coop", description="Réseau COOP platform.")
    commands = root.add_subparsers(dest="command", required=True, parser_class=Parser)
    up = commands.add_parser("up", help="start NATS and every service; stop on SIGINT/SIGTERM")
    up.add_argument("--data-dir", type=Path, default=None, help="where state lives (./var)")
    demo = commands.add_parser(
        "demo", help="`coop up`, then record the 2023-2024 demonstration history"
    )
    demo.add_argument("--data-dir", type=Path, default=None, help="where state lives (./var)")
    serve = commands.add_parser("serve", help="run one service in the foreground")
    serve.add_argument("service", choices=registry.available())
    report = commands.add_parser("report", help="print a fiscal year's indicators")
    report.add_argument("fiscal_year", help="e.g. 2023-2024")
    report.add_argument("--lang", choices=("fr", "en"), default="fr")
    imports = commands.add_parser(
        "import", help="check a CSV file whole, then record it through the public APIs"
    )
    imports.add_argument("kind", choices=importable_kinds())
    imports.add_argument("file", type=Path)
    imports.add_argument("--dry-run", action="store_true", help="check only, record nothing")
    imports.add_argument("--report", type=Path, default=None, help="write the problems as CSV")
    imports.add_argument("--lang", choices=("fr", "en"), default=None)
    return root


def importable_kinds() -> list[str]:
    """The kinds `coop import` reads."""
    from services.importer.kinds import KINDS

    return list(KINDS)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `coop` command."""
    args = parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args.service)
        if args.command in ("up", "demo"):
            return up(args.data_dir, demo=args.command == "demo")
        if args.command == "report":
            return report(args.fiscal_year, args.lang)
        if args.command == "import":
            return import_file(args)
    except ConfigurationError as error:
        print(f"coop: {error}", file=sys.stderr)
        return 1
    return 2


def serve(service: str) -> int:
    """Run one service, configured by the environment alone."""
    from services import registry
    from shared.logs import setup_logging
    from shared.settings import ServiceSettings
    from shared.telemetry import setup_telemetry

    settings = ServiceSettings.from_env(service)
    setup_logging(service, settings.log_level)
    setup_telemetry(service)
    if settings.tokens.is_development:
        import logging

        logging.getLogger(__name__).warning(
            "COOP_API_TOKENS is not set: the development token grants every scope"
        )
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again: exit 0 on it.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with contextlib.suppress(KeyboardInterrupt):
        registry.builder(service)(settings).serve()
    return 0


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


def up(data_dir: Path | None, *, demo: bool) -> int:
    """Start everything; with `demo`, record the demonstration history first."""
    import os

    from services.supervisor import Supervisor

    directory = data_dir or Path(os.environ.get("COOP_DATA_DIR") or "./var")
    supervisor = Supervisor(directory)
    try:
        supervisor.start()
    except BaseException:
        supervisor.stop()
        raise
    if demo and not supervisor.stopping:
        from services.demo import run_demo

        try:
            run_demo(supervisor)
        except Exception as error:
            print(f"coop: the demonstration failed: {error}", file=sys.stderr)
            supervisor.stop()
            return 1
    if not supervisor.stopping:
        print("ready — Ctrl-C to stop", flush=True)
    return supervisor.run_until_signalled()


def import_file(args: argparse.Namespace) -> int:
    """Check a CSV file, then record it (contract §13); a missing file is a usage error."""
    from services.importer.command import language, run_import

    if not args.file.is_file():
        print(f"coop: error: no such file: {args.file}", file=sys.stderr)
        return 2
    return run_import(
        args.kind,
        args.file,
        dry_run=args.dry_run,
        report=args.report,
        lang=language(args.lang),
    )


def report(fiscal_year: str, lang: str) -> int:
    """Print a fiscal year's report section from the running reporting service."""
    import httpx

    from shared.settings import ServiceSettings

    match = FISCAL_YEAR.match(fiscal_year)
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        print(
            "coop: error: FISCAL_YEAR must be two consecutive years, like 2023-2024",
            file=sys.stderr,
        )
        return 2
    settings = ServiceSettings.from_env("reporting")
    url = f"http://{settings.host}:{settings.port}/v1/reports/{fiscal_year}"
    try:
        response = httpx.get(
            url, params={"lang": lang}, headers={"Accept": "text/markdown"}, timeout=30
        )
    except httpx.HTTPError as error:
        print(f"coop: cannot reach the reporting service at {url}: {error}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        detail = response.json().get("detail", response.text) if response.content else ""
        print(
            f"coop: the reporting service answered {response.status_code}: {detail}",
            file=sys.stderr,
        )
        return 1
    print(response.text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
