"""Bearer tokens and their scopes: who may call an operation, and `GET /v1/whoami`.

A request without a known token is refused (401) and counted against its client address
(429 once `FailedAuthLimiter` says so); a known token without the operation's scope gets 403.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from fastapi import FastAPI, Request, Security
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ConfigDict

from shared.http.docs import answers
from shared.http.edge import Edge, edge_of
from shared.problems import Problem

log = logging.getLogger("shared.http")

BEARER_SCHEME = "bearerToken"

ANY_VALID_TOKEN = ""
"""The `require` scope of operations that any valid token may call (`GET /v1/whoami`)."""


def token_scopes(edge: Edge, request: Request) -> frozenset[str] | None:
    """The scopes of the request's bearer token, or None when it has no known token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    presented = hashlib.sha256(token.strip().encode()).hexdigest()
    found = None
    for known, granted in edge.tokens.scopes_by_digest.items():
        if hmac.compare_digest(presented, known):
            found = granted
    return found


class WhoAmI(BaseModel):
    """What a token may do: its scopes."""

    model_config = ConfigDict(extra="forbid")

    scopes: list[str]


class ScopeCheck(SecurityBase):
    """The dependency `require` makes: a bearer-token scheme the OpenAPI shows with its scope."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.scheme_name = BEARER_SCHEME
        self.model = HTTPBearerModel(
            description="A token of COOP_API_TOKENS; the operation's security names its scope."
        )

    async def __call__(self, request: Request) -> None:
        scope = self.scope
        edge = edge_of(request)
        scopes = token_scopes(edge, request)
        if scopes is None:
            # The client address is the proxies' X-Forwarded-For client (COOP_TRUSTED_PROXIES,
            # applied by uvicorn). Only requests without a valid token are ever throttled.
            client = request.client.host if request.client else "unknown"
            wait = edge.limiter.retry_after(client)
            if wait:
                log.warning("authentication refused: too many failures from %s", client)
                raise Problem(
                    429, "too many failed authentications", headers={"Retry-After": str(wait)}
                )
            edge.limiter.fail(client)
            edge.metrics.auth_failures.inc()
            log.warning("authentication failed from %s: missing or unknown token", client)
            raise Problem(
                401,
                "a valid bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="coop"'},
            )
        request.state.scopes = scopes
        if scope != ANY_VALID_TOKEN and scope not in scopes:
            log.warning("authorization refused: the token lacks the scope %s", scope)
            raise Problem(403, f"this token lacks the scope {scope!r}")


def require(scope: str) -> Any:
    """A route dependency: a bearer token that carries `scope` (401 without, 403 lacking it)."""
    return Security(ScopeCheck(scope), scopes=[scope] if scope != ANY_VALID_TOKEN else [])


def serve_whoami(app: FastAPI) -> None:
    """`GET /v1/whoami`: the scopes of the token presented."""

    @app.get(
        "/v1/whoami",
        tags=["tokens"],
        dependencies=[require(ANY_VALID_TOKEN)],
        responses=answers(200, WhoAmI, 401, 429),
    )
    async def get_whoami(request: Request) -> dict[str, list[str]]:
        """The scopes of the token presented (any valid token): what it may do here."""
        return {"scopes": sorted(request.state.scopes)}
