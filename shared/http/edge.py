"""What every route of a service can ask of the shared edge: its `Edge`, the client's language."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from fastapi import Request

from shared.http.limiter import FailedAuthLimiter
from shared.i18n import negotiate
from shared.metrics import ServiceMetrics
from shared.persistence import Database
from shared.settings import TokenTable

COMMAND_THREADS = 40  # commands in flight at once; concurrent saves share a store transaction


@dataclass
class Edge:
    """What the shared HTTP dependencies need, kept on `app.state.edge`."""

    tokens: TokenTable
    database: Database
    metrics: ServiceMetrics
    limiter: FailedAuthLimiter
    secret: bytes = b""
    """This installation's HMAC key: idempotency records keep no plain digest of a request."""
    workers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(COMMAND_THREADS, thread_name_prefix="command")
    )
    """The threads commands run in (see `command_route`)."""


def edge_of(request: Request) -> Edge:
    """The service's Edge."""
    edge: Edge = request.app.state.edge
    return edge


def language(request: Request) -> str:
    """`en` when the client prefers English (`?lang=en` or Accept-Language), else `fr`."""
    return negotiate(request.headers.get("accept-language"), request.query_params.get("lang"))
