"""Every file under deploy/ parses and agrees with the code: image, NATS, k8s, Grafana."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from shared.metrics import ServiceMetrics
from shared.nats_server import free_port, nats_server_binary
from shared.settings import DEFAULT_PORTS, SERVICES
from tests.deploy.deployfiles import (
    CLUSTER_CONF,
    DEPLOY,
    ROOT,
    SINGLE_CONF,
    ci_requires,
    dashboard,
    known_names,
    load_yaml,
    other_services_names,
)

K8S = DEPLOY / "k8s"
GRAFANA = DEPLOY / "grafana"
DOCKERFILE = DEPLOY / "Dockerfile"
HEALTHCHECK = DEPLOY / "healthcheck.py"
VIEWS_SQL = ROOT / "services" / "reporting" / "views.sql"


def _yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _k8s_objects() -> Iterator[dict[str, Any]]:
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            yield from _yaml_documents(path)


def test_every_yaml_and_json_file_in_deploy_parses() -> None:
    yaml_files = [*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")]
    assert len(yaml_files) >= 10
    for path in yaml_files:
        assert _yaml_documents(path), f"{path} is empty"
    for path in DEPLOY.rglob("*.json"):
        assert json.loads(path.read_text(encoding="utf-8")), path


# --- the image --------------------------------------------------------------------------


def _final_stage(dockerfile: str) -> list[str]:
    lines = re.sub(r"\\\n", " ", dockerfile).splitlines()
    instructions = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    starts = [i for i, line in enumerate(instructions) if line.upper().startswith("FROM ")]
    assert len(starts) >= 2, "the Dockerfile must be multi-stage"
    return instructions[starts[-1] :]


def test_the_image_runs_coop_serve_as_an_unprivileged_user_with_a_healthcheck() -> None:
    final = _final_stage(DOCKERFILE.read_text(encoding="utf-8"))
    users = [line.split(None, 1)[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the final stage needs a USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "a numeric USER lets Kubernetes check runAsNonRoot"
    healthchecks = [line for line in final if line.upper().startswith("HEALTHCHECK ")]
    assert len(healthchecks) == 1 and "/app/healthcheck.py" in healthchecks[0]
    assert "/readyz" in HEALTHCHECK.read_text(encoding="utf-8")
    entrypoint = next(line for line in final if line.upper().startswith("ENTRYPOINT "))
    command = next(line for line in final if line.upper().startswith("CMD "))
    assert json.loads(entrypoint.split(None, 1)[1]) == ["coop"]
    assert json.loads(command.split(None, 1)[1])[0] == "serve"
    for line in final:
        if line.upper().startswith("COPY ") and "--from=" not in line:
            source = line.split()[1]
            assert (ROOT / source).exists(), source


def test_the_build_context_keeps_what_the_dockerfile_copies() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    kept = {line[1:].rstrip("/") for line in ignore.splitlines() if line.startswith("!")}
    copies = re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert copies
    for copy in copies:
        *sources, _destination = copy.split()
        for source in sources:
            assert source.rstrip("/") in kept, source


class _Probe(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1)])
def test_the_image_healthcheck_exits_zero_only_when_readyz_answers_200(
    status: int, exit_code: int
) -> None:
    handler = type("Probe", (_Probe,), {"status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/readyz"
        result = subprocess.run([sys.executable, str(HEALTHCHECK), url], timeout=10)
        assert result.returncode == exit_code
    finally:
        server.shutdown()
        server.server_close()


def test_the_image_healthcheck_probes_the_served_service_on_its_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("coop_healthcheck", HEALTHCHECK)
    assert spec is not None and spec.loader is not None
    healthcheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(healthcheck)
    proc = tmp_path / "proc"
    (proc / "1").mkdir(parents=True)
    (proc / "1" / "cmdline").write_bytes(
        b"/opt/coop/bin/python\0/opt/coop/bin/coop\0serve\0events\0"
    )
    (proc / "7").mkdir()
    (proc / "7" / "cmdline").write_bytes(b"python\0/app/healthcheck.py\0")
    monkeypatch.delenv("COOP_EVENTS_PORT", raising=False)
    assert healthcheck.readiness_url(proc) == f"http://127.0.0.1:{DEFAULT_PORTS['events']}/readyz"
    monkeypatch.setenv("COOP_EVENTS_PORT", "9102")
    assert healthcheck.readiness_url(proc) == "http://127.0.0.1:9102/readyz"
    (proc / "1" / "cmdline").write_bytes(b"sleep\0infinity\0")
    with pytest.raises(SystemExit):
        healthcheck.readiness_url(proc)


def test_the_image_healthcheck_fails_when_nothing_listens() -> None:
    url = f"http://127.0.0.1:{free_port()}/readyz"
    result = subprocess.run(
        [sys.executable, str(HEALTHCHECK), url], timeout=10, capture_output=True
    )
    assert result.returncode == 1


def test_the_postgres_init_script_is_executable_bash() -> None:
    script = DEPLOY / "postgres" / "init-databases.sh"
    assert os.access(script, os.X_OK), "the postgres image sources non-executable scripts"
    bash = shutil.which("bash")
    assert bash is not None
    assert subprocess.run([bash, "-n", str(script)]).returncode == 0


# --- NATS -------------------------------------------------------------------------------


def _nats_config_test(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        binary = nats_server_binary()
    except FileNotFoundError:
        ci_requires("nats-server")
        raise
    return subprocess.run(
        [binary, "-c", str(config), "-t"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_single_node_nats_config_is_valid() -> None:
    result = _nats_config_test(SINGLE_CONF, {})
    assert result.returncode == 0, result.stdout + result.stderr
    text = SINGLE_CONF.read_text(encoding="utf-8")
    assert re.search(r"^jetstream\s*\{", text, re.MULTILINE)
    assert re.search(r"^http_port: 8222$", text, re.MULTILINE)


def test_the_cluster_nats_config_is_valid_with_its_environment(tmp_path: Path) -> None:
    env = {
        "NATS_SERVER_NAME": "n1",
        "NATS_HOST": "127.0.0.1",
        "NATS_CLIENT_PORT": "4222",
        "NATS_MONITOR_PORT": "8222",
        "NATS_CLUSTER_NAME": "coop",
        "NATS_CLUSTER_PORT": "6222",
        "NATS_ROUTES": "[nats://127.0.0.1:6222, nats://127.0.0.1:6223]",
        "NATS_STORE_DIR": str(tmp_path),
    }
    result = _nats_config_test(CLUSTER_CONF, env)
    assert result.returncode == 0, result.stdout + result.stderr
    documented = set(re.findall(r"\$(NATS_[A-Z_]+)", CLUSTER_CONF.read_text(encoding="utf-8")))
    assert documented == set(env)


# --- Kubernetes -------------------------------------------------------------------------


def test_every_deployment_runs_the_nats_server_release_the_tests_run() -> None:
    """The relay publishes atomic batches with Nats-Msg-Id, which older nats-servers refuse."""
    tested = subprocess.run(
        [nats_server_binary(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    release = re.search(r"v(\d+\.\d+)\.", tested)
    assert release, tested
    files = [ROOT / "docker-compose.yml", DEPLOY / "compose.prod.yml", K8S / "nats.yaml"]
    images = {path.name: re.findall(r"image: (nats:\S+)", path.read_text()) for path in files}
    assert images == {path.name: [f"nats:{release[1]}-alpine"] for path in files}


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk
    kubectl = shutil.which("kubectl")
    if kubectl:  # an extra check where kubectl is installed; the parse checks stand alone
        result = subprocess.run(
            [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr


def test_each_service_has_a_deployment_with_readiness_on_readyz_and_a_service() -> None:
    objects = list(_k8s_objects())
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["args"] == ["serve", name]
        port = container["ports"][0]["containerPort"]
        assert port == DEFAULT_PORTS[name]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert services[name]["spec"]["ports"][0]["port"] == port
        env = {item["name"]: item for item in container["env"]}
        assert env[f"COOP_{name.upper()}_PORT"]["value"] == str(port)
        for secret in ("COOP_API_TOKENS", f"COOP_{name.upper()}_DATABASE_URL", "COOP_SECRET_KEY"):
            assert "value" not in env[secret]
            assert env[secret]["valueFrom"]["secretKeyRef"]["name"] == "coop-secrets"
        config_maps = [ref["configMapRef"]["name"] for ref in container["envFrom"]]
        assert config_maps == ["coop-config"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_k8s_service_reads_coop_secret_key_from_the_secret_as_compose_gives_it(
    service: str,
) -> None:
    deployment = next(
        o for o in _k8s_objects() if o["kind"] == "Deployment" and o["metadata"]["name"] == service
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert "value" not in env["COOP_SECRET_KEY"]
    assert env["COOP_SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "coop-secrets",
        "key": "COOP_SECRET_KEY",
    }
    compose = load_yaml(ROOT / "docker-compose.yml")["services"][service]["environment"]
    assert compose["COOP_SECRET_KEY"].startswith("${COOP_SECRET_KEY:?")


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_environment_names_are_read_by_the_code(service: str) -> None:
    objects = list(_k8s_objects())
    config = next(
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "coop-config"
    )
    deployment = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == service
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    names = set(config["data"]) | {item["name"] for item in container["env"]}
    assert not names - known_names(service)
    assert not names & other_services_names(service)
    assert config["data"]["COOP_ENV"] == "production"
    assert config["data"]["COOP_NATS_REPLICAS"] == "3"


def test_the_k8s_nats_cluster_runs_deploy_nats_cluster_conf() -> None:
    objects = list(_k8s_objects())
    config = next(
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "nats-config"
    )
    assert config["data"]["cluster.conf"] == CLUSTER_CONF.read_text(encoding="utf-8")
    statefulset = next(o for o in objects if o["kind"] == "StatefulSet")
    assert statefulset["spec"]["replicas"] == 3
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    env = {item["name"] for item in container["env"]}
    assert env == set(re.findall(r"\$(NATS_[A-Z_]+)", CLUSTER_CONF.read_text(encoding="utf-8")))


# --- OpenTelemetry collector and Prometheus ---------------------------------------------


def test_the_collector_pipelines_use_only_defined_components() -> None:
    config = load_yaml(DEPLOY / "otel-collector" / "config.yaml")
    for pipeline in config["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], component
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert "otlp/jaeger" in config["service"]["pipelines"]["traces"]["exporters"]


def test_dashboards_query_metrics_the_services_expose() -> None:
    exposed: set[str] = {"coop_indicator"}
    metrics = ServiceMetrics("test")
    metrics.commands.labels("x", "ok").inc()
    metrics.consumer_applied.labels("c").inc()
    metrics.consumer_parked.labels("c").inc()
    metrics.consumer_lag.labels("c").set(0)
    metrics.request_seconds.labels("GET", "200").observe(0.1)
    for family in text_string_to_metric_families(metrics.render().decode()):
        exposed |= {sample.name for sample in family.samples}
    queries = [
        target["expr"]
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert queries
    for query in queries:
        for metric in re.findall(r"\b(coop_[a-z_]+)", query):
            assert metric in exposed, f"{metric} is not exposed by /metrics"


# --- Grafana ----------------------------------------------------------------------------


def _views() -> set[str]:
    return set(re.findall(r"CREATE VIEW (\w+)", VIEWS_SQL.read_text(encoding="utf-8")))


def test_grafana_reads_the_reporting_views_with_the_read_only_role() -> None:
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "datasources.yml")
    by_uid = {d["uid"]: d for d in datasources["datasources"]}
    sql = next(d for d in by_uid.values() if "postgres" in d["type"])
    assert sql["user"] == "coop_bi"
    assert sql["jsonData"]["database"] == "coop_reporting"
    assert sql["secureJsonData"]["password"].startswith("$")
    assert any(d["type"] == "prometheus" for d in by_uid.values())
    providers = load_yaml(GRAFANA / "provisioning" / "dashboards" / "dashboards.yml")
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    used_views: set[str] = set()
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] in by_uid
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in by_uid
            if "rawSql" in target:
                tables = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", target["rawSql"]))
                assert tables <= _views(), f"{panel['title']}: {tables - _views()}"
                used_views |= tables
    assert len(used_views) >= 4
