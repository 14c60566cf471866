"""The five services' public APIs, as the console calls them with the staff member's token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from services.console.settings import ConsoleSettings

# Refusals the services send without a field, and the field of the form they are about.
PROBLEM_FIELDS = {"partner-name-taken": "name", "placement-open": "retailer_id"}


@dataclass
class Answer:
    """A service's answer: its status, its JSON, and the problem's errors by field."""

    status: int
    body: Any
    headers: httpx.Headers = field(default_factory=httpx.Headers)

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300

    @property
    def errors(self) -> dict[str, str]:
        """A refusal's messages by field (`""` for the whole form)."""
        if self.ok or not isinstance(self.body, dict):
            return {}
        found: dict[str, str] = {}
        for error in self.body.get("errors") or []:
            found.setdefault(str(error.get("field") or ""), str(error.get("message") or ""))
        if not found:
            slug = str(self.body.get("type") or "").rsplit("/", 1)[-1]
            message = str(self.body.get("detail") or self.body.get("title") or self.status)
            found[PROBLEM_FIELDS.get(slug, "")] = message
        return found


class ServiceUnavailableError(Exception):
    """A service did not answer."""


class Platform:
    """HTTP calls to the services, one shared connection pool."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(15.0))

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        token: str,
        lang: str = "fr",
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Call a service and return its answer (never raises on an HTTP status)."""
        url = self.settings.service_url(service) + path
        sent = {"Authorization": f"Bearer {token}", "Accept-Language": lang, **(headers or {})}
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = await self.client.request(method, url, json=json, params=query, headers=sent)
        except httpx.HTTPError as error:
            raise ServiceUnavailableError(service) from error
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = response.text
        return Answer(response.status_code, body, response.headers)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
