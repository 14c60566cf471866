"""Settings from the environment: tokens, production rules, ports, database URLs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.runtime import service_messaging
from shared.settings import DEV_TOKEN, SCOPES, ServiceSettings, TokenTable, digest


def scopes_of(table: TokenTable, token: str) -> frozenset[str] | None:
    return table.scopes_by_digest.get(hashlib.sha256(token.encode()).hexdigest())


def test_tokens_map_each_token_to_its_scopes() -> None:
    raw = json.dumps({"reader-token": ["read"], "writer-token": ["read", "membership:write"]})

    table = TokenTable.parse(raw, production=True)

    assert scopes_of(table, "reader-token") == {"read"}
    assert scopes_of(table, "writer-token") == {"read", "membership:write"}
    assert scopes_of(table, DEV_TOKEN) is None
    assert not table.is_development


def test_a_sha256_key_matches_the_token_whose_digest_it_names() -> None:
    secret = "un jeton secret"
    hexdigest = hashlib.sha256(secret.encode()).hexdigest()

    table = TokenTable.parse(json.dumps({f"sha256:{hexdigest}": ["read"]}), production=True)

    assert scopes_of(table, secret) == {"read"}
    assert scopes_of(table, f"sha256:{hexdigest}") is None


def test_a_sha256_key_may_be_written_in_upper_case_hex() -> None:
    hexdigest = digest("jeton").upper()

    table = TokenTable.parse(json.dumps({f"sha256:{hexdigest}": ["read"]}), production=False)

    assert scopes_of(table, "jeton") == {"read"}


@pytest.mark.parametrize("key", ["sha256:abc", "sha256:" + "g" * 64, "sha256:"])
def test_a_sha256_key_without_64_hex_digits_is_refused(key: str) -> None:
    with pytest.raises(ConfigurationError):
        TokenTable.parse(json.dumps({key: ["read"]}), production=False)


@pytest.mark.parametrize("raw", [None, "", "   ", "{}"])
def test_no_tokens_outside_production_gives_the_development_token_with_every_scope(
    raw: str | None,
) -> None:
    table = TokenTable.parse(raw, production=False)

    assert table.is_development
    assert scopes_of(table, DEV_TOKEN) == SCOPES
    assert len(table.scopes_by_digest) == 1


@pytest.mark.parametrize("raw", [None, "", "{}"])
def test_production_without_tokens_refuses_to_start(raw: str | None) -> None:
    with pytest.raises(ConfigurationError) as refused:
        TokenTable.parse(raw, production=True)

    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "raw",
    [
        "[]",
        '["dev-admin-token"]',
        '"token"',
        "42",
        "null",
        "not json",
        '{"token": "read"}',
        '{"token": ["read", "superuser"]}',
        '{"token": [1]}',
        '{"": ["read"]}',
    ],
)
@pytest.mark.parametrize("production", [True, False])
def test_a_value_that_is_not_an_object_of_token_to_known_scopes_is_refused(
    raw: str, production: bool
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        TokenTable.parse(raw, production=production)

    assert "\n" not in str(refused.value)


def test_scopes_are_independent_a_write_scope_does_not_grant_read() -> None:
    table = TokenTable.parse('{"writer": ["membership:write"]}', production=True)

    assert scopes_of(table, "writer") == {"membership:write"}


def test_coop_env_production_is_read_from_the_environment() -> None:
    with pytest.raises(ConfigurationError):
        ServiceSettings.from_env("membership", {"COOP_ENV": "production"})
    with pytest.raises(ConfigurationError):
        ServiceSettings.from_env(
            "membership", {"COOP_ENV": "production", "COOP_API_TOKENS": '["x"]'}
        )

    settings = ServiceSettings.from_env(
        "membership", {"COOP_ENV": "production", "COOP_API_TOKENS": '{"t": ["read"]}'}
    )
    assert settings.production
    assert not settings.tokens.is_development


def test_defaults_are_the_embedded_ones(tmp_path: Path) -> None:
    settings = ServiceSettings.from_env("membership", {"COOP_DATA_DIR": str(tmp_path)})

    assert (settings.host, settings.port) == ("127.0.0.1", 8001)
    assert settings.nats_url is None
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'membership.sqlite3'}"
    assert settings.tokens.is_development
    assert not settings.production


def test_each_service_reads_its_own_port_and_database_url() -> None:
    env = {
        "COOP_MEMBERSHIP_PORT": "9101",
        "COOP_EVENTS_PORT": "9102",
        "COOP_MEMBERSHIP_DATABASE_URL": "postgresql+psycopg://u@db/membership",
        "COOP_NATS_URL": "nats://nats:4222",
    }

    membership = ServiceSettings.from_env("membership", env)
    events = ServiceSettings.from_env("events", env)

    assert membership.port == 9101
    assert membership.database_url == "postgresql+psycopg://u@db/membership"
    assert membership.nats_url == "nats://nats:4222"
    assert events.port == 9102
    assert events.database_url.startswith("sqlite:///")


@pytest.mark.parametrize(
    "env",
    [
        {"COOP_MEMBERSHIP_PORT": "http"},
        {"COOP_MEMBERSHIP_PORT": "0"},
        {"COOP_MEMBERSHIP_PORT": "70000"},
        {"COOP_FISCAL_YEAR_START": "13-01"},
        {"COOP_FISCAL_YEAR_START": "02-29"},
    ],
)
def test_invalid_settings_refuse_to_start(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        ServiceSettings.from_env("membership", env)


def test_an_unknown_service_has_no_settings() -> None:
    with pytest.raises(ConfigurationError):
        ServiceSettings.from_env("payroll", {})


def test_trusted_proxies_default_to_loopback_and_accept_addresses_and_networks() -> None:
    from shared.settings import ServiceSettings

    assert ServiceSettings.from_env("membership", {}).trusted_proxies == (
        "127.0.0.1/32",
        "::1/128",
    )
    given = ServiceSettings.from_env(
        "membership", {"COOP_TRUSTED_PROXIES": "10.0.0.5, 172.28.0.0/16,::1"}
    )
    assert given.trusted_proxies == ("10.0.0.5", "172.28.0.0/16", "::1")


def test_a_trusted_proxy_that_is_not_an_address_refuses_to_start() -> None:
    from shared.errors import ConfigurationError
    from shared.settings import ServiceSettings

    with pytest.raises(ConfigurationError, match="COOP_TRUSTED_PROXIES"):
        ServiceSettings.from_env("membership", {"COOP_TRUSTED_PROXIES": "gateway"})


def test_consumer_prefix_defaults_to_none_so_an_upgrade_keeps_its_consumers() -> None:
    assert ServiceSettings.from_env("events", {}).nats_consumer_prefix == ""
    settings = ServiceSettings.from_env("events", {"COOP_NATS_CONSUMER_PREFIX": " blue-coop_1 "})
    assert settings.nats_consumer_prefix == "blue-coop_1"
    assert service_messaging(settings).consumer_name("events-membership") == (
        "blue-coop_1events-membership"
    )


@pytest.mark.parametrize("prefix", ["coop.", "a b", "x*", "x>", "a/b", "x" * 65])
def test_a_consumer_prefix_nats_would_refuse_refuses_to_start(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="COOP_NATS_CONSUMER_PREFIX"):
        ServiceSettings.from_env("events", {"COOP_NATS_CONSUMER_PREFIX": prefix})
