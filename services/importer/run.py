"""Check a file whole, then record it through the public APIs (contract §13).

`check_file` reads and checks every row — the API's own request models, the references, and
what a GET can tell (a NEQ taken or given twice, a sector off the list, a partner name taken, a
cooperative not a member on the date, a cancelled activity, an ambassador who ended) — without
recording anything; a row already recorded is checked only for what recording it would still
do. `record_rows` then records the rows in file order with bounded concurrency, each with its
`external_ref` (or `import:` and a SHA-256 of its cells), so that a re-run records nothing twice.
The staff console calls these two functions with an uploaded file; `coop import` wraps them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import httpx
from pydantic import ValidationError

from services.importer.kinds import KINDS, Kind, Reference
from services.importer.messages import Problem
from services.importer.table import Row, Table, UnreadableFileError, read_table
from shared.names import normalized_name

DEFAULT_PORTS = {"membership": 8001, "events": 8002, "ambassadors": 8003, "partnerships": 8005}
DEVELOPMENT_TOKEN = "dev-admin-token"
CONCURRENCY = 16
PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Endpoints:
    """Where the services answer, and the token to use."""

    urls: Mapping[str, str]
    token: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Endpoints:
        """`COOP_<SERVICE>_URL` (default 127.0.0.1 and the service's port) and `COOP_TOKEN`."""
        env = os.environ if env is None else env
        urls = {
            name: (env.get(f"COOP_{name.upper()}_URL") or f"http://127.0.0.1:{port}").rstrip("/")
            for name, port in DEFAULT_PORTS.items()
        }
        return cls(urls, env.get("COOP_TOKEN") or DEVELOPMENT_TOKEN)

    def client(self, lang: str = "fr") -> httpx.AsyncClient:
        """An HTTP client carrying the token and the import's language (`Accept-Language`, so
        that a refusal at recording time reads in it), sized for the import's concurrency."""
        return httpx.AsyncClient(
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept-Language": "en" if lang == "en" else "fr",
            },
            timeout=httpx.Timeout(30.0),
            limits=httpx.Limits(max_connections=CONCURRENCY * 2),
        )


class ServiceUnreachableError(Exception):
    """A service did not answer; nothing can be checked or recorded without it."""

    def __init__(self, service: str, url: str) -> None:
        super().__init__(f"{service} at {url}")
        self.service = service
        self.url = url


@dataclass
class CheckedRow:
    """A row ready to record: its line, the request to send and what follows it."""

    line: int
    path: str
    body: dict[str, Any]
    departure: dict[str, Any] | None = None
    columns: dict[str, str] = field(default_factory=dict)
    """The row's column for a body field it names another way (`cooperative_external_ref`)."""


@dataclass
class Check:
    """The outcome of checking a file: rows ready to record, or the problems found."""

    kind: Kind
    rows: list[CheckedRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing stops the import."""
        return not self.problems


@dataclass
class Summary:
    """What recording did: rows recorded, rows already there, rows refused (with why)."""

    recorded: int = 0
    already: int = 0
    refused: list[Problem] = field(default_factory=list)


class Lookups:
    """Answers from the services during a check, each asked once."""

    def __init__(self, endpoints: Endpoints, client: httpx.AsyncClient) -> None:
        self.endpoints = endpoints
        self.client = client
        self._cache: dict[tuple[str, str], Awaitable[Any]] = {}

    async def get(self, service: str, path: str, params: dict[str, str] | None = None) -> Any:
        """The JSON a GET answers (None on 404), asked once per distinct request."""
        key = (service, path + json.dumps(params or {}, sort_keys=True))
        if key not in self._cache:
            self._cache[key] = asyncio.ensure_future(self._fetch(service, path, params))
        return await self._cache[key]

    async def _fetch(self, service: str, path: str, params: dict[str, str] | None) -> Any:
        url = self.endpoints.urls[service] + path
        try:
            response = await self.client.get(url, params=params)
        except httpx.HTTPError:
            raise ServiceUnreachableError(service, self.endpoints.urls[service]) from None
        if response.status_code in (404, 422):
            return None
        response.raise_for_status()
        return response.json()

    async def every(
        self, service: str, path: str, params: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a list, page after page."""
        items: list[dict[str, Any]] = []
        query = {**(params or {}), "limit": "1000"}
        while True:
            page = await self.get(service, path, query) or {}
            items += page.get("items") or []
            cursor = page.get("next_cursor")
            if not cursor:
                return items
            query = {**query, "cursor": cursor}

    async def recorded(self, service: str, path: str, key: str) -> bool:
        """True when a record of this list already carries `key` as its `external_ref`: the
        service then answers it as already there, before any of its rules (§16.5)."""
        page = await self.get(service, path, {"external_ref": key, "limit": "1"})
        return bool((page or {}).get("items"))

    async def find(self, ref: Reference, column: str, value: str) -> dict[str, Any] | None:
        """The record a reference cell names, if any."""
        if column == ref.target:
            try:
                UUID(value)
            except ValueError:
                return None
            found: dict[str, Any] | None = await self.get(ref.service, f"{ref.collection}/{value}")
            return found
        criterion = "neq" if column.endswith("_neq") else "external_ref"
        page = await self.get(ref.service, ref.collection, {criterion: value, "limit": "2"})
        items = (page or {}).get("items") or []
        return items[0] if len(items) == 1 else None


def import_key(kind: Kind, row: Row) -> str:
    """`import:` and the SHA-256 of the kind and the row's cells in column-name order."""
    cells = sorted(row.cells.items())
    digest = hashlib.sha256(json.dumps([kind.name, cells], ensure_ascii=False).encode())
    return f"import:{digest.hexdigest()}"


def row_key(kind: Kind, row: Row) -> str:
    """The `external_ref` a row is recorded with: its own, else its `import:` key."""
    return row.cells.get("external_ref") or import_key(kind, row)


def partner_names_of(body: Mapping[str, Any]) -> dict[str, str]:
    """Every normalized name a partner row goes by, with the column that gives it (§16.7)."""
    names = {normalized_name(str(body.get("name") or "")): "name"}
    for alias in body.get("aliases") or []:
        names.setdefault(normalized_name(str(alias)), "aliases")
    names.pop("", None)
    return names


def is_member_on(cooperative: Mapping[str, Any], day: date) -> bool:
    """True when one of the cooperative's periods (as the API answers them) contains `day`."""
    if cooperative.get("status") == "voided":
        return False
    for period in cooperative.get("periods") or []:
        start = date.fromisoformat(period["start"])
        end = period.get("end")
        if start <= day and (end is None or day < date.fromisoformat(end)):
            return True
    return False


def _json_types(schema: Mapping[str, Any]) -> set[str]:
    branches = schema.get("anyOf") or [schema]
    return {branch.get("type", "") for branch in branches}


def _cell_value(schema: Mapping[str, Any], text: str) -> Any:
    types = _json_types(schema)
    if "array" in types:
        return [item.strip() for item in text.split("|") if item.strip()]
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            return text
    return text


_ERROR_KEYS = {
    "missing": "required",
    "int_type": "integer",
    "int_parsing": "integer",
    "int_from_float": "integer",
    "greater_than_equal": "number-min",
    "literal_error": "choice",
    "enum": "choice",
    "uuid_parsing": "uuid",
    "uuid_type": "uuid",
    "string_too_long": "text-long",
    "string_pattern_mismatch": "pattern",
    "url_parsing": "url",
    "url_scheme": "url",
}


def _validation_problem(
    kind: Kind,
    line: int,
    error: Mapping[str, Any],
    schemas: Mapping[str, Any] | None = None,
    columns: Mapping[str, str] | None = None,
) -> Problem:
    field_name = str(error["loc"][0]) if error.get("loc") else ""
    column = (columns or {}).get(field_name, field_name)
    context = error.get("ctx") or {}
    key = _ERROR_KEYS.get(error["type"], "invalid")
    schema = (kind.field_schemas if schemas is None else schemas).get(field_name, {})
    if key == "invalid" and any(b.get("format") == "date" for b in schema.get("anyOf", [schema])):
        key = "date"
    if key == "invalid" and "email" in column:
        key = "email"
    params: dict[str, Any] = {}
    if key == "number-min":
        params["min"] = context.get("ge")
    elif key == "choice":
        params["choices"] = str(context.get("expected", "")).replace("'", "")
    elif key == "text-long":
        params["max"] = context.get("max_length")
    return Problem(line, column, key, params)


class Checker:
    """Checks the rows of one file against the API's models and the services' records."""

    def __init__(self, kind: Kind, lookups: Lookups) -> None:
        self.kind = kind
        self.lookups = lookups
        self.rules: dict[str, Callable[[Row, CheckedRow, dict[str, Any]], Awaitable[list[Problem]]]]
        self.rules = {
            "cooperatives": self._cooperative_rules,
            "activities": self._activity_rules,
            "attendances": self._attendance_rules,
            "ambassadors": self._ambassador_rules,
            "public-attendance": self._public_attendance_rules,
            "ambassador-actions": self._action_rules,
            "partners": self._partner_rules,
            "research-projects": self._research_rules,
        }

    async def check_row(self, row: Row) -> tuple[CheckedRow | None, list[Problem]]:
        """The request a row becomes, or its problems."""
        kind = self.kind
        problems: list[Problem] = []
        if row.overflow:
            problems.append(Problem(row.line, "", "overflow"))
        body: dict[str, Any] = {
            name: _cell_value(kind.field_schemas.get(name, {}), row.cells[name])
            for name in kind.body_fields
            if name in row.cells
        }
        path_ids: dict[str, str] = {}
        columns: dict[str, str] = {}
        found: dict[str, dict[str, Any]] = {}
        for ref in kind.references:
            given = [column for column in ref.columns if column in row.cells]
            if len(given) > 1:
                problems.append(
                    Problem(row.line, given[1], "one-reference", {"columns": ", ".join(given)})
                )
            if not given:
                if ref.required:
                    problems.append(
                        Problem(
                            row.line,
                            ref.columns[0],
                            "reference-missing",
                            {"columns": ", ".join(ref.columns)},
                        )
                    )
                continue
            column = given[0]
            columns[ref.target] = column
            record = await self.lookups.find(ref, column, row.cells[column])
            if record is None:
                problems.append(
                    Problem(row.line, column, f"unknown-{ref.noun}", {"value": row.cells[column]})
                )
                resolved = PLACEHOLDER_ID
            else:
                found[ref.noun] = record
                resolved = str(record["id"])
            if ref.in_path:
                path_ids[ref.target] = resolved
            else:
                body[ref.target] = resolved
        if "partner_external_refs" in row.cells:
            problems += await self._partners_by_reference(row, body)
        try:
            validated = kind.model.model_validate(body)
        except ValidationError as error:
            problems += [_validation_problem(kind, row.line, dict(e)) for e in error.errors()]
            return None, problems
        body = validated.model_dump(mode="json", exclude_unset=True)
        checked = CheckedRow(row.line, kind.path.format(**path_ids), body, columns=columns)
        rule = self.rules.get(kind.name)
        if rule is not None and not problems:
            problems += await rule(row, checked, found)
        return (None if problems else checked), problems

    async def _partners_by_reference(self, row: Row, body: dict[str, Any]) -> list[Problem]:
        """A research project's partners named by their external references (`a|b`)."""
        column = "partner_external_refs"
        if "partner_ids" in row.cells:
            return [
                Problem(row.line, column, "one-reference", {"columns": "partner_ids, " + column})
            ]
        problems, ids = [], []
        for reference in _cell_value({"type": "array"}, row.cells[column]):
            page = await self.lookups.get(
                "partnerships", "/v1/partners", {"external_ref": reference}
            )
            items = (page or {}).get("items") or []
            if len(items) == 1:
                ids.append(items[0]["id"])
            else:
                problems.append(Problem(row.line, column, "unknown-partner", {"value": reference}))
        body["partner_ids"] = ids or [PLACEHOLDER_ID]
        return problems

    async def _cooperative_rules(
        self, row: Row, checked: CheckedRow, _found: dict[str, Any]
    ) -> list[Problem]:
        problems: list[Problem] = []
        left_on = row.cells.get("left_on")
        if "left_reason" in row.cells and not left_on:
            problems.append(Problem(row.line, "left_reason", "left-reason-alone"))
        if left_on:
            problems += self._departure(row, checked)
        key = row_key(self.kind, row)
        page = await self.lookups.get(
            "membership", "/v1/cooperatives", {"external_ref": key, "limit": "1"}
        )
        [existing] = (page or {}).get("items") or [None]
        if existing is not None:
            # Already there: the service answers it before its rules; only the departure the
            # row adds to an active cooperative is still to record, after its current start.
            periods = existing.get("periods") or []
            if checked.departure and existing.get("status") == "active" and periods:
                left_on, start = checked.departure["left_on"], periods[-1]["start"]
                if any(period.get("end") == left_on for period in periods):
                    checked.departure = None  # recorded, then readmitted: already there (§16.21)
                elif left_on <= start and not problems:
                    problems.append(
                        Problem(row.line, "left_on", "left-before-period", {"start": start})
                    )
            return problems
        sector = checked.body["sector"]
        sectors = await self.lookups.every("membership", "/v1/sectors")
        if sector not in {s.get("slug") for s in sectors}:
            problems.append(Problem(row.line, "sector", "unknown-sector", {"value": sector}))
        neq = checked.body.get("neq")
        if neq:
            page = await self.lookups.get(
                "membership", "/v1/cooperatives", {"neq": neq, "status": "active"}
            )
            holders = [c for c in (page or {}).get("items", []) if c.get("external_ref") != key]
            if holders:
                problems.append(Problem(row.line, "neq", "neq-taken"))
        return problems

    def _departure(self, row: Row, checked: CheckedRow) -> list[Problem]:
        """The departure a row adds, checked as `POST …/departure` checks its body."""
        from services.membership.api import DepartureRequest

        departure = {"left_on": row.cells["left_on"]}
        if "left_reason" in row.cells:
            departure["reason"] = row.cells["left_reason"]
        try:
            validated = DepartureRequest.model_validate(departure)
        except ValidationError as error:
            schemas = DepartureRequest.model_json_schema().get("properties", {})
            columns = {"reason": "left_reason"}
            return [
                _validation_problem(self.kind, row.line, dict(e), schemas, columns)
                for e in error.errors()
            ]
        checked.departure = validated.model_dump(mode="json", exclude_none=True)
        if validated.left_on <= date.fromisoformat(checked.body["joined_on"]):
            return [Problem(row.line, "left_on", "left-before-join")]
        return []

    async def _activity_rules(
        self, row: Row, checked: CheckedRow, _found: dict[str, Any]
    ) -> list[Problem]:
        from services.events.domain import Activity, RegionRequiredError

        body = checked.body
        try:
            Activity.check_can_schedule(
                type=body["type"], title=body["title"], format=body["format"],
                region=body.get("region"),
            )  # fmt: skip
        except RegionRequiredError:
            return [Problem(row.line, "region", "region-required")]
        return []

    async def _attendance_rules(
        self, row: Row, checked: CheckedRow, found: dict[str, Any]
    ) -> list[Problem]:
        if found["activity"].get("status") == "cancelled":
            column = checked.columns.get("activity_id", "activity_id")
            return [Problem(row.line, column, "activity-cancelled")]
        day = date.fromisoformat(found["activity"]["date"])
        if is_member_on(found["cooperative"], day):
            return []
        recorded = await self.lookups.every("events", checked.path)
        if any(a.get("cooperative_id") == checked.body["cooperative_id"] for a in recorded):
            return []  # already there: the service answers it before the membership rule
        column = checked.columns.get("cooperative_id", "cooperative_id")
        return [Problem(row.line, column, "not-member", {"date": day.isoformat()})]

    async def _ambassador_rules(
        self, row: Row, checked: CheckedRow, found: dict[str, Any]
    ) -> list[Problem]:
        day = date.fromisoformat(checked.body["enrolled_on"])
        if is_member_on(found["cooperative"], day):
            return []
        if await self.lookups.recorded("ambassadors", "/v1/ambassadors", row_key(self.kind, row)):
            return []  # already there: the service answers it before its rules
        return [Problem(row.line, "enrolled_on", "not-member", {"date": day.isoformat()})]

    async def _public_attendance_rules(
        self, row: Row, checked: CheckedRow, found: dict[str, Any]
    ) -> list[Problem]:
        if found["activity"].get("status") != "cancelled":
            return []
        records = await self.lookups.every("events", checked.path)
        if any(r.get("external_ref") == row_key(self.kind, row) for r in records):
            return []  # already there: the service answers it before refusing
        column = checked.columns.get("activity_id", "activity_id")
        return [Problem(row.line, column, "activity-cancelled")]

    async def _action_rules(
        self, row: Row, checked: CheckedRow, found: dict[str, Any]
    ) -> list[Problem]:
        ambassador = found["ambassador"]
        performed_on = checked.body["performed_on"]
        enrolled_on = ambassador.get("enrolled_on")
        ended_on = ambassador.get("ended_on")
        broken = bool(enrolled_on and performed_on < enrolled_on)
        broken |= bool(ended_on and performed_on >= ended_on)
        if not broken or await self.lookups.recorded(
            "ambassadors", checked.path, row_key(self.kind, row)
        ):
            return []
        if ended_on and performed_on >= ended_on:
            return [Problem(row.line, "performed_on", "action-after-end", {"date": ended_on})]
        return [Problem(row.line, "performed_on", "action-before-enrollment")]

    async def _partner_rules(
        self, row: Row, checked: CheckedRow, _found: dict[str, Any]
    ) -> list[Problem]:
        key = row_key(self.kind, row)
        if await self.lookups.recorded("partnerships", "/v1/partners", key):
            return []  # already there: the service answers it before comparing names
        problems: list[Problem] = []
        for name, column in partner_names_of(checked.body).items():
            for partner in await self.lookups.every("partnerships", "/v1/partners", {"q": name}):
                if name in partner_names_of(partner):
                    params = {"value": name, "other": partner.get("name", "")}
                    problems.append(Problem(row.line, column, "partner-name-taken", params))
                    break
        return problems

    async def _research_rules(
        self, row: Row, checked: CheckedRow, _found: dict[str, Any]
    ) -> list[Problem]:
        problems = []
        for partner_id in checked.body.get("partner_ids") or []:
            partner = await self.lookups.get("partnerships", f"/v1/partners/{partner_id}")
            if partner is None:
                problems.append(
                    Problem(row.line, "partner_ids", "unknown-partner", {"value": partner_id})
                )
        return problems


def _header_problems(kind: Kind, table: Table) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for column in table.columns:
        if column in seen:
            problems.append(Problem(1, column, "duplicate-column"))
        seen.add(column)
        if column not in kind.columns:
            problems.append(Problem(1, column, "unknown-column"))
    stand_ins = dict(kind.alternatives)
    problems += [
        Problem(1, column, "missing-column")
        for column in kind.required_columns
        if column not in seen and stand_ins.get(column) not in seen
    ]
    return problems


async def check_file(
    kind_name: str, data: bytes, endpoints: Endpoints, client: httpx.AsyncClient
) -> Check:
    """Read and check a whole file; nothing is recorded."""
    kind = KINDS[kind_name]
    check = Check(kind)
    try:
        table = read_table(data, kind.columns)
    except UnreadableFileError as error:
        check.problems.append(error.problem)
        return check
    check.problems += _header_problems(kind, table)
    if check.problems:
        return check
    if not table.rows:
        check.problems.append(Problem(2, "", "no-rows"))
        return check
    checker = Checker(kind, Lookups(endpoints, client))
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(row: Row) -> tuple[CheckedRow | None, list[Problem]]:
        async with limit:
            return await checker.check_row(row)

    outcomes = await asyncio.gather(*(one(row) for row in table.rows))
    check.problems += same_in_file(kind, [checked for checked, _ in outcomes])
    first_line: dict[str, int] = {}
    for row, (checked, problems) in zip(table.rows, outcomes, strict=True):
        reference = row.cells.get("external_ref")
        key = reference or import_key(kind, row)
        if key in first_line:
            problems = [
                *problems,
                Problem(
                    row.line,
                    "external_ref" if reference else "",
                    "duplicate-ref" if reference else "duplicate-row",
                    {"other": first_line[key]},
                ),
            ]
        first_line.setdefault(key, row.line)
        check.problems += problems
        if checked is not None and kind.sends_external_ref:
            checked.body["external_ref"] = key
        if checked is not None:
            check.rows.append(checked)
    check.problems.sort(key=lambda p: p.line)
    return check


def same_in_file(kind: Kind, rows: list[CheckedRow | None]) -> list[Problem]:
    """What two rows of one file may not share: a cooperative's `neq`, a partner's name or
    alias (normalized, §16.7), an attendance's activity and cooperative. Each later row names
    the first line that holds it."""
    problems: list[Problem] = []
    first: dict[tuple[str, str], int] = {}
    for row in rows:
        if row is None:
            continue
        held: dict[tuple[str, str], tuple[str, str]] = {}
        if kind.name == "cooperatives" and row.body.get("neq"):
            held[("neq", row.body["neq"])] = ("neq", "neq-in-file")
        if kind.name == "partners":
            for name, column in partner_names_of(row.body).items():
                held[("name", name)] = (column, "partner-name-in-file")
        if kind.name == "attendances":
            # the service keeps the first and answers the second as already there
            column = row.columns.get("cooperative_id", "cooperative_id")
            pair = f"{row.path} {row.body.get('cooperative_id')}"
            held[("attendance", pair)] = (column, "attendance-in-file")
        for value, (column, message) in held.items():
            if value in first:
                params = {"other": first[value], "value": value[1]}
                problems.append(Problem(row.line, column, message, params))
            else:
                first[value] = row.line
    return problems


async def record_rows(
    check: Check,
    endpoints: Endpoints,
    client: httpx.AsyncClient,
    advance: Callable[[], None] | None = None,
) -> Summary:
    """Record the checked rows in file order, a few at a time; a refusal does not stop the rest."""
    kind = check.kind
    base = endpoints.urls[kind.service]
    summary = Summary()
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(row: CheckedRow) -> None:
        async with limit:
            outcome = await _record(client, base, row)
        if isinstance(outcome, Problem):
            summary.refused.append(outcome)
        elif outcome:
            summary.recorded += 1
        else:
            summary.already += 1
        if advance is not None:
            advance()

    await asyncio.gather(*(one(row) for row in check.rows))
    summary.refused.sort(key=lambda p: p.line)
    return summary


async def _post(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> httpx.Response:
    for attempt in range(4):
        try:
            return await client.post(url, json=body)
        except httpx.TransportError:
            if attempt == 3:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


async def _record(client: httpx.AsyncClient, base: str, row: CheckedRow) -> bool | Problem:
    """True when recorded, False when already there, else the service's refusal."""
    try:
        response = await _post(client, base + row.path, row.body)
        if response.status_code not in (200, 201):
            return _refusal(row, response)
        created = response.status_code == 201
        resource = response.json()
        if row.departure is None or resource.get("status") != "active":
            return created
        departure = await _post(
            client, f"{base}/v1/cooperatives/{resource['id']}/departure", row.departure
        )
        if departure.status_code != 200:
            return _refusal(row, departure)
        return True
    except httpx.HTTPError as error:
        return Problem(row.line, "", "service", {"detail": str(error) or type(error).__name__})


_REFUSAL_FIELDS = {
    "neq-taken": "neq",
    "activity-cancelled": "activity_id",
    "ambassador-ended": "performed_on",
}
"""The field a refusal without `errors` is about, by the end of its `type`."""


def _refusal(row: CheckedRow, response: httpx.Response) -> Problem:
    """The service's refusal of a row, at the column its problem names (`errors[].field`, or
    the field its `type` is about)."""
    try:
        problem = response.json()
        detail = problem.get("detail") or problem.get("title") or response.reason_phrase
        errors = problem.get("errors") or []
        named = str(errors[0].get("field") or "") if errors else ""
        if not named:
            named = _REFUSAL_FIELDS.get(str(problem.get("type") or "").rpartition("/")[2], "")
    except (ValueError, AttributeError):
        detail, named = response.reason_phrase, ""
    column = row.columns.get(named, named)
    return Problem(row.line, column, "service", {"detail": detail})
