"""The HTTP edge every service shares, one concern a module.

- `app`: `create_api`, the app factory (handlers, middlewares, health, metrics, docs);
- `edge`: the `Edge` a service hands its app, and the client's language;
- `auth`: bearer tokens, scopes (`require`) and `GET /v1/whoami`; `limiter`: the throttle on
  failed authentications;
- `problems`: errors answered as problem details, and `install_domain_errors`;
- `body`: the body-size limit and JSON bodies; `commands`: command routes, run once per key;
- `idempotency`: `Idempotency-Key` records; `concurrency`: ETags and `If-Match`;
- `paging`: cursors, pages and filters; `history`: an aggregate's history as a page;
- `request_metrics`: request durations, commands and the access log; `docs`: the OpenAPI.

Everything a service uses is importable from `shared.http` itself.
"""

from eventsourcing.persistence import IntegrityError as EventStoreConflict

from shared.http.app import create_api
from shared.http.auth import (
    ANY_VALID_TOKEN,
    BEARER_SCHEME,
    ScopeCheck,
    WhoAmI,
    require,
    serve_whoami,
    token_scopes,
)
from shared.http.body import MAX_BODY_BYTES, BodyLimit, Withdrawal, parse_body, withdrawal_reason
from shared.http.commands import (
    Command,
    CommandRoute,
    command_context,
    command_route,
    known_answer,
    run_command,
)
from shared.http.concurrency import (
    check_if_match,
    etag,
    etag_header,
    expected_version,
    retried,
    unless_replayed,
)
from shared.http.docs import answers, body_schema, document_edge, problem_responses
from shared.http.edge import COMMAND_THREADS, Edge, edge_of, language
from shared.http.history import HistoryEntry, history_page
from shared.http.idempotency import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_TTL_SECONDS,
    IdempotentRequest,
    idempotent_request,
    replayed,
    sweep_idempotency_records,
)
from shared.http.limiter import FailedAuthLimiter
from shared.http.paging import (
    MAX_POSITION,
    Page,
    PageRequest,
    Paging,
    filter_value,
    numbered_page,
    page,
)
from shared.http.problems import (
    Refusal,
    allowed_methods,
    domain_problem,
    install_domain_errors,
    install_problem_handlers,
    problem_response,
    validation_problem,
)
from shared.http.request_metrics import QUIET_ROUTES, RequestMetrics, access_log

__all__ = [
    "ANY_VALID_TOKEN",
    "BEARER_SCHEME",
    "COMMAND_THREADS",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_TTL_SECONDS",
    "MAX_BODY_BYTES",
    "MAX_POSITION",
    "QUIET_ROUTES",
    "BodyLimit",
    "Command",
    "CommandRoute",
    "Edge",
    "EventStoreConflict",
    "FailedAuthLimiter",
    "HistoryEntry",
    "IdempotentRequest",
    "Page",
    "PageRequest",
    "Paging",
    "Refusal",
    "RequestMetrics",
    "ScopeCheck",
    "WhoAmI",
    "Withdrawal",
    "access_log",
    "allowed_methods",
    "answers",
    "body_schema",
    "check_if_match",
    "command_context",
    "command_route",
    "create_api",
    "document_edge",
    "domain_problem",
    "edge_of",
    "etag",
    "etag_header",
    "expected_version",
    "filter_value",
    "history_page",
    "idempotent_request",
    "install_domain_errors",
    "install_problem_handlers",
    "known_answer",
    "language",
    "numbered_page",
    "page",
    "parse_body",
    "problem_response",
    "problem_responses",
    "replayed",
    "require",
    "retried",
    "run_command",
    "serve_whoami",
    "sweep_idempotency_records",
    "token_scopes",
    "unless_replayed",
    "validation_problem",
    "withdrawal_reason",
]
