"""Bearer tokens: compared in constant time, `sha256:` keys, production refuses to start without.

The constant-time property is checked on the code (the comparison is `hmac.compare_digest`
between SHA-256 digests, over every known token, never stopping at the first match) and on
behaviour (a token one character away from a real one is refused); a timing measurement over
loopback would be too noisy to prove anything.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shared import http
from tests.fuzz.platform import ADMIN_TOKEN, SERVICES, Platform
from tests.security.conftest import HASHED_READER, HASHED_READER_KEY, client_from
from tests.support import ROOT, TOKEN, env_without

pytestmark = pytest.mark.e2e

ADDRESS = "127.0.2.1"


def _calls(tree: ast.AST) -> list[str]:
    return [ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)]


def test_tokens_are_compared_as_sha256_digests_with_compare_digest_over_every_known_token() -> None:
    source = textwrap.dedent(inspect.getsource(http.token_scopes))
    tree = ast.parse(source)
    calls = _calls(tree)
    assert "hashlib.sha256" in calls, "the presented token is hashed before comparison"
    assert "hmac.compare_digest" in calls, "digests are compared with hmac.compare_digest"
    loops = [node for node in ast.walk(tree) if isinstance(node, ast.For)]
    assert loops, "every known digest is compared"
    for loop in loops:
        assert "scopes_by_digest.items" in ast.unparse(loop.iter)
        assert not any(isinstance(node, ast.Break | ast.Return) for node in ast.walk(loop)), (
            "the comparison loop never stops early at a match"
        )
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            compared = ast.unparse(node)
            assert "token" not in compared and "digest" not in compared, (
                f"a token compared with an ordinary operator: {compared}"
            )


@pytest.mark.parametrize(
    "presented",
    [
        ADMIN_TOKEN[:-1] + chr(ord(ADMIN_TOKEN[-1]) ^ 1),  # differs in the last character only
        ADMIN_TOKEN[:-1],
        ADMIN_TOKEN + "0",
        ADMIN_TOKEN.upper(),
        hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest(),
        "sha256:" + hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest(),
    ],
    ids=["last-char", "prefix", "suffix", "case", "digest", "sha256-key"],
)
def test_a_token_that_is_almost_a_real_one_is_refused(secured: Platform, presented: str) -> None:
    with client_from(secured, "membership", ADDRESS, presented) as http_client:
        assert http_client.get("/v1/cooperatives").status_code == 401
    with client_from(secured, "membership", ADDRESS, ADMIN_TOKEN) as http_client:
        assert http_client.get("/v1/cooperatives").status_code == 200


def test_a_sha256_key_admits_the_token_whose_digest_it_names_end_to_end(
    secured: Platform,
) -> None:
    for service, path in [
        ("membership", "/v1/cooperatives"),
        ("events", "/v1/activities"),
        ("ambassadors", "/v1/ambassadors"),
    ]:
        with client_from(secured, service, ADDRESS, HASHED_READER) as reader:
            listed = reader.get(path)
            assert listed.status_code == 200, listed.text
            assert listed.json()["items"], f"{service} lists the seeded records"
            assert reader.post(path, json={}).status_code == 403  # read only
    with client_from(secured, "membership", ADDRESS, HASHED_READER_KEY) as literal:
        assert literal.get("/v1/cooperatives").status_code == 401  # the key is no token


DEVELOPMENT_PROBES = [
    ("membership", "GET", "/v1/cooperatives"),
    ("events", "GET", "/v1/activities"),
    ("ambassadors", "GET", "/v1/ambassadors"),
    ("reporting", "POST", "/v1/projections/rebuild"),
]


def test_the_development_token_is_refused_once_tokens_are_configured(secured: Platform) -> None:
    for service, method, path in DEVELOPMENT_PROBES:
        with client_from(secured, service, ADDRESS, TOKEN) as development:
            assert development.request(method, path).status_code == 401, service


def _serve(service: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = env_without(os.environ, "COOP_API_TOKENS", "COOP_ENV")
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "serve", service],
        env={**base, "COOP_NATS_URL": "nats://127.0.0.1:1", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


REFUSED_TABLES = [
    ({"COOP_ENV": "production"}, "unset in production"),
    ({"COOP_ENV": "production", "COOP_API_TOKENS": ""}, "empty in production"),
    ({"COOP_ENV": "production", "COOP_API_TOKENS": "{}"}, "{} in production"),
    ({"COOP_ENV": "Production", "COOP_API_TOKENS": "  {}  "}, "any case, spaces"),
    ({"COOP_API_TOKENS": "not json"}, "not JSON"),
    ({"COOP_API_TOKENS": '["a-token"]'}, "not an object"),
    ({"COOP_API_TOKENS": json.dumps({"a-token": ["root"]})}, "unknown scope"),
    ({"COOP_API_TOKENS": json.dumps({"a-token": "read"})}, "scopes not a list"),
    ({"COOP_API_TOKENS": json.dumps({"sha256:abc": ["read"]})}, "short sha256 key"),
]


@pytest.mark.parametrize(("env", "case"), REFUSED_TABLES, ids=[c for _, c in REFUSED_TABLES])
def test_a_service_refuses_to_start_without_a_usable_token_table(
    tmp_path: Path, env: dict[str, str], case: str
) -> None:
    services = SERVICES if "production" in case else ("membership",)

    def serve(service: str) -> subprocess.CompletedProcess[str]:
        return _serve(service, {"COOP_DATA_DIR": str(tmp_path), **env})

    with ThreadPoolExecutor(len(services)) as pool:
        results = list(pool.map(serve, services))
    for service, result in zip(services, results, strict=True):
        assert result.returncode == 1, (service, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (service, result.stderr)
        assert "COOP_API_TOKENS" in lines[0], lines[0]
        assert "Traceback" not in result.stderr
