"""Settings read from the environment, by the names of the public contract (§1)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import ConfigurationError

SERVICES = ("membership", "events", "ambassadors", "reporting", "partnerships", "console")
DEFAULT_PORTS = {
    "membership": 8001,
    "events": 8002,
    "ambassadors": 8003,
    "reporting": 8004,
    "partnerships": 8005,
    "console": 8000,
}
SCOPES = frozenset(
    {
        "read",
        "membership:write",
        "events:write",
        "ambassadors:write",
        "partnerships:write",
        "personal:read",
        "privacy:admin",
        "reporting:admin",
    }
)
DEV_TOKEN = "dev-admin-token"
DEFAULT_TRUSTED_PROXIES = ("127.0.0.1/32", "::1/128")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
# What a NATS consumer name may hold (no `.`, `*`, `>`, white space or path separator).
_CONSUMER_PREFIX = re.compile(r"^[A-Za-z0-9_-]{0,64}$")


@dataclass(frozen=True)
class TokenTable:
    """Bearer tokens by the SHA-256 digest of their value, with their scopes."""

    scopes_by_digest: Mapping[str, frozenset[str]]
    is_development: bool = False

    @classmethod
    def parse(cls, raw: str | None, *, production: bool) -> TokenTable:
        """Read `COOP_API_TOKENS`; fall back to the development token outside production."""
        text = (raw or "").strip()
        parsed: object = {}
        if text:
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                raise ConfigurationError(
                    "COOP_API_TOKENS is not valid JSON: expected an object token -> [scopes]"
                ) from None
        if not isinstance(parsed, dict):
            raise ConfigurationError("COOP_API_TOKENS must be a JSON object token -> [scopes]")
        if not parsed:
            if production:
                raise ConfigurationError(
                    "COOP_ENV=production needs COOP_API_TOKENS (a JSON object token -> [scopes])"
                )
            return cls({digest(DEV_TOKEN): SCOPES}, is_development=True)
        table: dict[str, frozenset[str]] = {}
        for key, scopes in parsed.items():
            if (
                not key
                or not isinstance(scopes, list)
                or not all(isinstance(s, str) and s in SCOPES for s in scopes)
            ):
                raise ConfigurationError(
                    "COOP_API_TOKENS: each token needs a list of known scopes "
                    f"({', '.join(sorted(SCOPES))})"
                )
            if key.startswith("sha256:"):
                hexdigest = key.removeprefix("sha256:").lower()
                if not _HEX64.match(hexdigest):
                    raise ConfigurationError("COOP_API_TOKENS: a sha256: key needs 64 hex digits")
            else:
                hexdigest = digest(key)
            table[hexdigest] = frozenset(scopes)
        return cls(table)


def digest(token: str) -> str:
    """SHA-256 hex digest of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ServiceSettings:
    """Everything one service needs from its environment."""

    service: str
    host: str
    port: int
    database_url: str
    data_dir: Path
    nats_url: str | None
    tokens: TokenTable
    production: bool
    fiscal_year_start: str = "09-01"
    nats_replicas: int = 1
    log_level: str = "INFO"
    secret_key: str | None = None
    """`COOP_SECRET_KEY`: the key of this installation's HMACs (else one in the data dir)."""
    trusted_proxies: tuple[str, ...] = DEFAULT_TRUSTED_PROXIES
    """Addresses/networks whose `X-Forwarded-For` is believed (`COOP_TRUSTED_PROXIES`)."""
    nats_consumer_prefix: str = ""
    """`COOP_NATS_CONSUMER_PREFIX`: put before every durable consumer's name on NATS."""
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, service: str, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        """Build the settings of `service` from `environ` (default: the process environment)."""
        env = os.environ if environ is None else environ
        if service not in SERVICES:
            raise ConfigurationError(f"unknown service {service!r}")
        upper = service.upper()
        production = env.get("COOP_ENV", "").strip().lower() == "production"
        data_dir = Path(env.get("COOP_DATA_DIR") or "./var")
        database_url = env.get(f"COOP_{upper}_DATABASE_URL") or default_database_url(
            data_dir, service
        )
        port = _int(env, f"COOP_{upper}_PORT", DEFAULT_PORTS[service], low=1, high=65535)
        start = env.get("COOP_FISCAL_YEAR_START") or "09-01"
        if not _MONTH_DAY.match(start) or start == "02-29":
            raise ConfigurationError("COOP_FISCAL_YEAR_START must be MM-DD, e.g. 09-01")
        return cls(
            service=service,
            host=env.get("COOP_HOST") or "127.0.0.1",
            port=port,
            database_url=database_url,
            data_dir=data_dir,
            nats_url=env.get("COOP_NATS_URL") or None,
            tokens=TokenTable.parse(env.get("COOP_API_TOKENS"), production=production),
            production=production,
            fiscal_year_start=start,
            nats_replicas=_int(env, "COOP_NATS_REPLICAS", 1, low=1, high=5),
            log_level=(env.get("COOP_LOG_LEVEL") or "INFO").upper(),
            trusted_proxies=trusted_proxies(env.get("COOP_TRUSTED_PROXIES")),
            secret_key=(env.get("COOP_SECRET_KEY") or "").strip() or None,
            nats_consumer_prefix=consumer_prefix(env.get("COOP_NATS_CONSUMER_PREFIX")),
        )


def consumer_prefix(raw: str | None) -> str:
    """`COOP_NATS_CONSUMER_PREFIX`: letters, digits, `-` and `_` (default: none, the names of
    earlier releases, so an upgrade keeps its consumers)."""
    value = (raw or "").strip()
    if not _CONSUMER_PREFIX.match(value):
        raise ConfigurationError(
            "COOP_NATS_CONSUMER_PREFIX may hold only letters, digits, '-' and '_' "
            "(at most 64), e.g. coop-"
        )
    return value


def trusted_proxies(raw: str | None) -> tuple[str, ...]:
    """`COOP_TRUSTED_PROXIES`: comma-separated addresses or CIDR networks (default: loopback)."""
    if raw is None or not raw.strip():
        return DEFAULT_TRUSTED_PROXIES
    found: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"COOP_TRUSTED_PROXIES: {item!r} is not an address or a network such as 10.0.0.0/8"
            ) from None
        found.append(item)
    return tuple(found)


def installation_secret(settings: ServiceSettings) -> bytes:
    """The key of this installation's HMACs: `COOP_SECRET_KEY`, else one generated once into
    the data dir (`secret.key`, readable by its owner only). Every instance of a service that
    shares a database must share it: set `COOP_SECRET_KEY` wherever the data dir is not shared.
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def default_database_url(data_dir: Path, service: str) -> str:
    """The embedded default: one SQLite file per service under the data dir."""
    return f"sqlite:///{(data_dir / f'{service}.sqlite3').resolve()}"


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}")
    return value
