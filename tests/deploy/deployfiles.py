"""What the deployment tests share: the files under test, `${VAR}` interpolation, known names."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import opentelemetry.environment_variables
import opentelemetry.sdk.environment_variables
import pytest
import yaml

from shared.settings import SERVICES, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_PROD = DEPLOY / "compose.prod.yml"
ENV_EXAMPLE = ROOT / ".env.example"
CLUSTER_CONF = DEPLOY / "nats" / "cluster.conf"
SINGLE_CONF = DEPLOY / "nats" / "nats.conf"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, $NAME; $$ escapes.
_VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def load_yaml(path: Path) -> Any:
    """One YAML document."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def env_example() -> dict[str, str]:
    """The variables `.env.example` documents, with their example values (quotes removed)."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def sample_tokens() -> str:
    """A valid COOP_API_TOKENS value, as an operator would write it (digests only)."""
    digest = secrets.token_hex(32)
    return json.dumps({f"sha256:{digest}": ["read", "membership:write"]})


def filled_env() -> dict[str, str]:
    """`.env.example` with its empty secrets filled in, as an operator's `.env` would be."""
    env = env_example()
    for name, value in env.items():
        if not value:
            env[name] = sample_tokens() if name == "COOP_API_TOKENS" else secrets.token_hex(12)
    return env


def variables(text: str) -> Iterator[tuple[str, str | None, str]]:
    """Every `${NAME...}` or `$NAME` reference in a text: (name, operator, argument)."""
    for match in _VARIABLE.finditer(text):
        name = match.group("braced") or match.group("bare")
        if name:
            yield name, match.group("op"), match.group("arg") or ""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation of one string (defaults, required variables, `$$`)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        if op in (":-", ":?") and not value:
            value = None
        if value is None:
            if op and op.endswith("?"):
                raise KeyError(f"{name}: {arg}")
            return arg if op and op.endswith("-") else ""
        return value

    return _VARIABLE.sub(replace, text)


def interpolated(node: Any, env: Mapping[str, str]) -> Any:
    """A parsed YAML tree with every string interpolated."""
    if isinstance(node, dict):
        return {key: interpolated(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolated(value, env) for value in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


def merge(base: Any, override: Any) -> Any:
    """Compose's merge of an override file (mappings merge, lists of volumes/ports append)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return base + [item for item in override if item not in base]
    return override


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    """A compose service's `environment`, list or mapping form, as a mapping of strings."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def compose_files(prod: bool = False) -> list[Path]:
    """The compose files of a deployment: the base, plus the production override."""
    return [COMPOSE, COMPOSE_PROD] if prod else [COMPOSE]


def compose_model(env: Mapping[str, str], prod: bool = False) -> dict[str, Any]:
    """The compose model as `docker compose` sees it, interpolated with `env`."""
    model = load_yaml(COMPOSE)
    if prod:
        model = merge(model, load_yaml(COMPOSE_PROD))
    return interpolated(model, env)


def docker_compose() -> str | None:
    """The `docker-compose` executable (Debian package, 1.29), when installed."""
    return shutil.which("docker-compose")


def docker_compose_config(tmp_path: Path, env: Mapping[str, str], prod: bool = False) -> Any:
    """`docker-compose config` of the files, with `env` as the project's .env file."""
    executable = docker_compose()
    assert executable is not None
    env_file = tmp_path / ("prod.env" if prod else "base.env")
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    command = [executable, "--env-file", str(env_file)]
    for path in compose_files(prod):
        command += ["-f", str(path)]
    clean = {k: v for k, v in os.environ.items() if k not in env}
    result = subprocess.run(
        [*command, "config"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


class RecordingEnvironment(dict[str, str]):
    """An environment that remembers every name read from it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)


def settings_names(service: str) -> set[str]:
    """Every environment name `ServiceSettings.from_env(service)` reads."""
    environ = RecordingEnvironment()
    ServiceSettings.from_env(service, environ)
    return environ.read


def telemetry_names() -> set[str]:
    """The OTEL_* names: those shared/telemetry.py reads and those OpenTelemetry defines."""
    source = (ROOT / "shared" / "telemetry.py").read_text(encoding="utf-8")
    names = set(re.findall(r"\bOTEL_[A-Z_]+\b", source))
    for module in (opentelemetry.environment_variables, opentelemetry.sdk.environment_variables):
        names |= {name for name in dir(module) if name.startswith("OTEL_")}
    return names


def known_names(service: str) -> set[str]:
    """The environment names a service's process reads (settings and telemetry)."""
    names = settings_names(service) | telemetry_names()
    if service == "console":  # its own settings too: the services' URLs, its sessions
        from services.console.settings import ConsoleSettings

        names |= {f"COOP_{name.upper()}" for name in ConsoleSettings.model_fields}
    return names


def other_services_names(service: str) -> set[str]:
    """Names that belong to the other services only (their port and database)."""
    mine = settings_names(service)
    return {n for other in SERVICES if other != service for n in settings_names(other)} - mine


def ci_requires(what: str) -> None:
    """Fail in CI, skip elsewhere, when something a test needs is missing."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} is not available")


def dashboard() -> dict[str, Any]:
    """The provisioned Grafana dashboard."""
    path = DEPLOY / "grafana" / "dashboards" / "reseau-coop.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def dashboard_sql() -> list[tuple[str, str]]:
    """(title, SQL) of every dashboard panel on the reporting views."""
    return [
        (panel["title"], target["rawSql"])
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
        if "rawSql" in target
    ]
