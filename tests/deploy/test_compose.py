"""docker-compose.yml and deploy/compose.prod.yml: valid, and consistent with the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from services import registry
from shared.settings import DEFAULT_PORTS, SERVICES, ServiceSettings
from tests.deploy.deployfiles import (
    COMPOSE,
    COMPOSE_PROD,
    DEPLOY,
    ROOT,
    compose_model,
    docker_compose,
    docker_compose_config,
    env_example,
    environment_of,
    filled_env,
    known_names,
    load_yaml,
    other_services_names,
    variables,
)

INFRASTRUCTURE = {"nats", "postgres", "otel-collector", "jaeger", "prometheus", "grafana"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|CREDENTIAL|PRIVATE_KEY", re.IGNORECASE)
SECRET_VARIABLES = {
    "COOP_API_TOKENS",
    "POSTGRES_PASSWORD",
    "COOP_MEMBERSHIP_DB_PASSWORD",
    "COOP_EVENTS_DB_PASSWORD",
    "COOP_AMBASSADORS_DB_PASSWORD",
    "COOP_REPORTING_DB_PASSWORD",
    "COOP_BI_DB_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
}


@pytest.fixture(params=[False, True], ids=["compose", "compose+prod"])
def model(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The interpolated compose model, base and with the production override."""
    return compose_model(filled_env(), prod=request.param)


def test_the_compose_files_parse_and_define_the_whole_stack() -> None:
    base = load_yaml(COMPOSE)
    prod = load_yaml(COMPOSE_PROD)
    assert isinstance(base, dict) and isinstance(prod, dict)
    assert set(base["services"]) >= {*SERVICES, *INFRASTRUCTURE}
    assert set(prod["services"]) <= set(base["services"]) | {"nats-2", "nats-3"}
    for name in SERVICES:
        assert base["services"][name]["command"] == ["serve", name]
        assert base["services"][name]["build"]["dockerfile"] == "deploy/Dockerfile"


@pytest.mark.parametrize("prod", [False, True], ids=["compose", "compose+prod"])
def test_docker_compose_config_accepts_the_files(tmp_path: Path, prod: bool) -> None:
    env = filled_env()
    if docker_compose() is None:
        # Without the engine's CLI, the structural checks of this module stand in for it.
        model = compose_model(env, prod=prod)
    else:
        model = docker_compose_config(tmp_path, env, prod=prod)
    services = model["services"]
    assert set(services) >= {*SERVICES, *INFRASTRUCTURE}
    declared_volumes = set(model.get("volumes") or {})
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name
        for volume in service.get("volumes") or []:
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if not source.startswith(("/", ".")):
                assert source in declared_volumes, f"{name}: undeclared volume {source}"
            elif "deploy/" in source:  # a configuration file of this repository
                relative = source.split("deploy/", 1)[1]
                assert (DEPLOY / relative).exists(), f"{name}: missing {source}"
    if prod:
        for name in SERVICES:
            assert services[name]["environment"]["COOP_NATS_REPLICAS"] == "3"
            assert int(services[name]["deploy"]["replicas"]) == 1


def test_the_production_override_scales_each_service_by_environment() -> None:
    env = {**filled_env(), **{f"COOP_{name.upper()}_REPLICAS": "3" for name in SERVICES}}
    services = compose_model(env, prod=True)["services"]
    for name in SERVICES:
        assert int(services[name]["deploy"]["replicas"]) == 3
        assert "ports" not in services[name], "instances share no host port"
    command = services["postgres"]["command"]
    connections = int(
        next(arg for arg in command if arg.startswith("max_connections=")).split("=")[1]
    )
    assert connections >= 40 * 3 * len(SERVICES)


def test_compose_refuses_to_start_without_its_secrets(tmp_path: Path) -> None:
    text = COMPOSE.read_text(encoding="utf-8") + COMPOSE_PROD.read_text(encoding="utf-8")
    for name, op, _ in variables(text):
        if name in SECRET_VARIABLES:
            assert op == ":?", f"${{{name}}} must be required (${{{name}:?...}})"
    if docker_compose() is not None:
        env = filled_env()
        del env["COOP_API_TOKENS"]
        with pytest.raises(AssertionError, match="COOP_API_TOKENS"):
            docker_compose_config(tmp_path, env)


def test_every_variable_is_documented_in_env_example() -> None:
    documented = env_example()
    for path in (COMPOSE, COMPOSE_PROD):
        for name, _, _ in variables(path.read_text(encoding="utf-8")):
            assert name in documented, f"{path.name}: ${name} is not in .env.example"
    for name in SECRET_VARIABLES:
        assert documented.get(name) == "", f".env.example must leave {name} empty"


def test_no_secret_is_written_in_the_yaml() -> None:
    paths = [COMPOSE, *DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert "dev-admin-token" not in text, path
        assert not re.search(r"sha256:[0-9a-fA-F]{64}", text), path
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            code = line.split(" #", 1)[0]
            key, sep, value = code.partition(":")
            value = value.strip().strip("'\"")
            if sep and SECRET_NAME.search(key) and value and not key.strip().startswith("-"):
                assert value.startswith("$"), f"{path.relative_to(ROOT)}: {key.strip()} is literal"
            for password in re.findall(r"[a-z+]+://[^:/@\s]+:(.*?)@", code):
                assert password.startswith("$"), f"{path.relative_to(ROOT)}: password in a URL"


@pytest.mark.parametrize("service", SERVICES)
def test_service_environment_names_are_read_by_the_code(
    model: dict[str, Any], service: str
) -> None:
    environment = environment_of(model["services"][service])
    unknown = set(environment) - known_names(service)
    assert not unknown, f"{service} sets names no code reads: {sorted(unknown)}"
    assert not set(environment) & other_services_names(service)
    upper = service.upper()
    for required in ("COOP_ENV", "COOP_HOST", "COOP_NATS_URL", "COOP_API_TOKENS"):
        assert required in environment
    assert f"COOP_{upper}_PORT" in environment
    assert f"COOP_{upper}_DATABASE_URL" in environment
    assert {"OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT"} <= set(environment)


@pytest.mark.parametrize("service", SERVICES)
def test_settings_built_from_the_compose_environment(model: dict[str, Any], service: str) -> None:
    environment = environment_of(model["services"][service])
    settings = ServiceSettings.from_env(service, environment)
    assert settings.production
    assert not settings.tokens.is_development
    assert settings.host == "0.0.0.0"
    assert settings.port == DEFAULT_PORTS[service]
    url = sa.engine.make_url(settings.database_url)
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == ("postgres", 5432)
    assert url.username == url.database == f"coop_{service}"
    assert settings.nats_url is not None
    servers = settings.nats_url.split(",")
    assert all(urlsplit(s).hostname in model["services"] for s in servers)
    assert len(servers) == settings.nats_replicas


def _routes(service: str, tmp_path: Path) -> set[str]:
    built = registry.builder(service)(
        ServiceSettings.from_env(service, {"COOP_DATA_DIR": str(tmp_path / service)})
    )
    try:
        assert built.api is not None
        return {path for route in built.api.routes if (path := getattr(route, "path", None))}
    finally:
        for close in built.closers:
            close()
        built.database.dispose()


@pytest.mark.parametrize("service", SERVICES)
def test_healthchecks_probe_a_route_of_the_service_on_its_port(
    tmp_path: Path, service: str
) -> None:
    compose = compose_model(filled_env())["services"][service]
    probe = " ".join(compose["healthcheck"]["test"])
    found = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*)", probe)
    assert found, probe
    port, path = int(found.group(1)), found.group(2)
    assert port == DEFAULT_PORTS[service]
    assert port == int(environment_of(compose)[f"COOP_{service.upper()}_PORT"])
    assert str(port) in [str(p) for p in compose["expose"]]
    assert path == "/readyz"
    routes = _routes(service, tmp_path)
    assert {"/readyz", "/healthz", "/metrics"} <= routes


@pytest.mark.parametrize("prod", [False, True], ids=["compose", "compose+prod"])
def test_every_depends_on_target_is_defined(prod: bool) -> None:
    services = compose_model(filled_env(), prod=prod)["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on undefined {target}"
            assert target != name
            condition = spec.get("condition", "service_started")
            assert condition in CONDITIONS
            if condition == "service_healthy":
                assert services[target].get("healthcheck"), f"{target} has no healthcheck"
    for name in SERVICES:
        depends_on = services[name]["depends_on"]
        assert depends_on["nats"]["condition"] == "service_healthy"
        assert depends_on["postgres"]["condition"] == "service_healthy"


def test_the_gateway_publishes_each_service_on_its_port() -> None:
    services = compose_model(filled_env())["services"]
    published = {int(p.rsplit(":", 2)[-1]) for p in services["gateway"]["ports"]}
    assert published == set(DEFAULT_PORTS.values())
    nginx = (DEPLOY / "gateway" / "nginx.conf").read_text(encoding="utf-8")
    listens = {int(p) for p in re.findall(r"listen (\d+);", nginx)}
    targets = dict(re.findall(r"set \$\w+ (\w+):(\d+);", nginx))
    assert listens == set(DEFAULT_PORTS.values())
    assert {name: int(port) for name, port in targets.items()} == DEFAULT_PORTS
    for service in SERVICES:
        assert not services[service].get("ports"), f"{service} publishes past the gateway"


def test_prometheus_scrapes_every_service_on_its_port() -> None:
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    scraped = {
        sd["names"][0]: sd["port"]
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
    }
    assert scraped == DEFAULT_PORTS
