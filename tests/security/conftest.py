"""A platform run as in production (COOP_ENV=production, a token table) and logging at DEBUG."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from shared.settings import SCOPES
from tests.fuzz.platform import Platform, running_platform, token_table

HASHED_READER = "hashed-reader-secret-5c1d"
HASHED_READER_KEY = "sha256:" + hashlib.sha256(HASHED_READER.encode()).hexdigest()


def only(scope: str) -> str:
    """The token granted exactly `scope`."""
    return f"only-{scope}-token"


def all_but(scope: str) -> str:
    """The token granted every scope but `scope`."""
    return f"all-but-{scope}-token"


PERSONAL_READER = "reader-with-personal-read-token"

TOKENS: dict[str, list[str]] = {
    **{only(scope): [scope] for scope in SCOPES},
    **{all_but(scope): sorted(SCOPES - {scope}) for scope in SCOPES},
    HASHED_READER_KEY: ["read"],
    PERSONAL_READER: ["read", "personal:read"],
}


@pytest.fixture(scope="package")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The four services with COOP_ENV=production, per-scope tokens and DEBUG logs."""
    env = {
        "COOP_ENV": "production",
        "COOP_API_TOKENS": token_table(TOKENS),
        "COOP_LOG_LEVEL": "DEBUG",
    }
    with running_platform(tmp_path_factory.mktemp("security"), env) as platform:
        yield platform


def client_from(
    platform: Platform, service: str, address: str, token: str | None = None
) -> httpx.Client:
    """A client whose connections come from `address` (any 127.x.y.z works on loopback)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=platform.url(service),
        headers=headers,
        timeout=10,
        transport=httpx.HTTPTransport(local_address=address),
    )
