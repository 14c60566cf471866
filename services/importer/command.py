"""The `coop import KIND FILE` command: check everything, then record, then summarize."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.importer.messages import Problem, say
from services.importer.run import (
    Check,
    Endpoints,
    ServiceUnreachableError,
    Summary,
    check_file,
    record_rows,
)


def language(explicit: str | None, env: dict[str, str] | None = None) -> str:
    """`--lang`, else English when `LANG` starts with `en`, else French."""
    if explicit:
        return explicit
    lang = (env if env is not None else os.environ).get("LANG", "")
    return "en" if lang.lower().startswith("en") else "fr"


def write_report(path: Path, problems: list[Problem], lang: str) -> None:
    """The problems as CSV: `line,column,message`."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(("line", "column", "message"))
        for problem in problems:
            writer.writerow((problem.line, problem.column, problem.message(lang)))


def run_import(
    kind: str,
    file: Path,
    *,
    dry_run: bool,
    report: Path | None,
    lang: str,
    endpoints: Endpoints | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Exit status of `coop import`: 0 clean, 1 problems or refusals."""
    data = file.read_bytes()
    endpoints = endpoints or Endpoints.from_env()
    try:
        check, summary = asyncio.run(_run(kind, data, endpoints, dry_run=dry_run, lang=lang))
    except ServiceUnreachableError as error:
        print(say(lang, "unreachable", service=error.service, url=error.url), file=sys.stderr)
        return 1
    problems = check.problems or (summary.refused if summary else [])
    for problem in problems:
        print(problem.describe(lang), file=out)
    if report is not None:
        write_report(report, problems, lang)
    if check.problems:
        print(say(lang, "problems", count=len(check.problems)), file=out)
        return 1
    if summary is None:
        print(say(lang, "checked", rows=len(check.rows)), file=out)
        return 0
    print(
        say(
            lang,
            "summary",
            recorded=summary.recorded,
            already=summary.already,
            refused=len(summary.refused),
        ),
        file=out,
    )
    return 1 if summary.refused else 0


async def _run(
    kind: str, data: bytes, endpoints: Endpoints, *, dry_run: bool, lang: str
) -> tuple[Check, Summary | None]:
    async with endpoints.client(lang) as client:
        check = await check_file(kind, data, endpoints, client)
        if not check.clean or dry_run:
            return check, None
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            disable=not sys.stderr.isatty(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task(kind, total=len(check.rows))
            summary = await record_rows(check, endpoints, client, lambda: progress.advance(task))
        return check, summary
