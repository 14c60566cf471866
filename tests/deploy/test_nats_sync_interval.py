"""Every deployed NATS server fsyncs each message before acknowledging it, into a file store on
a volume: the `sync_interval` the embedded server uses and the README's "Guarantees" and
"Operations" sections promise, in compose (single node and the three-node override) and k8s."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.nats_server import SYNC_INTERVAL, free_port, nats_server_binary
from tests.deploy.deployfiles import (
    CLUSTER_CONF,
    COMPOSE,
    COMPOSE_PROD,
    DEPLOY,
    ROOT,
    SINGLE_CONF,
    ci_requires,
    load_yaml,
)
from tests.support import wait_for

K8S_NATS = DEPLOY / "k8s" / "nats.yaml"
_JETSTREAM = re.compile(r"^(\s*)jetstream\s*\{\n(.*?)^\1\}", re.MULTILINE | re.DOTALL)


def jetstream_settings(config: str) -> dict[str, str]:
    """The `key: value` lines of a NATS configuration's `jetstream { … }` block."""
    block = _JETSTREAM.search(config)
    assert block, "no jetstream block"
    return dict(re.findall(r"^\s*([a-z_]+):\s*(\S+)\s*$", block[2], re.MULTILINE))


def compose_nats_services() -> dict[str, dict[str, Any]]:
    """The NATS services of compose, single node and the production override (merged)."""
    base = load_yaml(COMPOSE)["services"]
    prod = load_yaml(COMPOSE_PROD)["services"]
    nodes = {"compose/nats": base["nats"]}
    for name, service in prod.items():
        if str(service.get("image", "")).startswith("nats:"):
            merged = dict(service)
            if name in base:  # compose merges an override's volumes with the base's by target
                targets = {str(v).split(":")[1]: v for v in base[name].get("volumes", [])}
                targets |= {str(v).split(":")[1]: v for v in service.get("volumes", [])}
                merged["volumes"] = list(targets.values())
            nodes[f"compose.prod/{name}"] = merged
    return nodes


def mounted_config(service: dict[str, Any]) -> tuple[Path, str]:
    """The configuration file a compose NATS service runs (`-c`), and its text."""
    command = service["command"]
    inside = command[command.index("-c") + 1]
    for volume in service["volumes"]:
        source, target = str(volume).split(":")[:2]
        if target == inside:
            path = (ROOT / source).resolve()
            return path, path.read_text(encoding="utf-8")
    raise AssertionError(f"{inside} is not mounted")


def k8s_nats() -> tuple[dict[str, Any], dict[str, Any]]:
    """The NATS ConfigMap and StatefulSet of the k8s manifests."""
    objects = [o for o in yaml.safe_load_all(K8S_NATS.read_text(encoding="utf-8")) if o]
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    statefulset = next(o for o in objects if o["kind"] == "StatefulSet")
    return config, statefulset


@pytest.mark.parametrize("node", sorted(compose_nats_services()))
def test_each_compose_nats_server_fsyncs_every_message_into_a_file_store_on_a_volume(
    node: str,
) -> None:
    service = compose_nats_services()[node]
    path, config = mounted_config(service)
    assert path in {SINGLE_CONF, CLUSTER_CONF}
    settings = jetstream_settings(config)
    assert settings["sync_interval"] == SYNC_INTERVAL
    store = settings["store_dir"]
    if store.startswith("$"):
        store = service["environment"][store.removeprefix("$")]
    volumes = {str(v).split(":")[1]: str(v).split(":")[0] for v in service["volumes"]}
    assert store in volumes, f"{node}: its store {store} is on no volume"
    assert not volumes[store].startswith("."), "the store is a named volume, not a host path"


def test_the_k8s_nats_cluster_fsyncs_every_message_into_a_file_store_on_its_claim() -> None:
    config, statefulset = k8s_nats()
    settings = jetstream_settings(config["data"]["cluster.conf"])
    assert settings["sync_interval"] == SYNC_INTERVAL
    assert settings["store_dir"] == "$NATS_STORE_DIR"
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    claims = {c["metadata"]["name"] for c in statefulset["spec"]["volumeClaimTemplates"]}
    assert mounts[env["NATS_STORE_DIR"]] in claims


def _varz(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/varz", timeout=2) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def _run(config: Path, env: dict[str, str], monitor: int) -> dict[str, Any]:
    """Start nats-server on `config`, return its JetStream configuration from /varz, stop it."""
    try:
        binary = nats_server_binary()
    except FileNotFoundError:
        ci_requires("nats-server")
        raise
    process = subprocess.Popen(
        [binary, "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def answered() -> dict[str, Any] | None:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode() if process.stderr else "")
            try:
                return _varz(monitor)
            except OSError:
                return None

        varz: dict[str, Any] = wait_for(answered, timeout=15, interval=0.1)
        return dict(varz["jetstream"]["config"])
    finally:
        process.terminate()
        process.wait(10)


def test_the_cluster_config_runs_with_every_message_fsynced(tmp_path: Path) -> None:
    monitor, cluster = free_port(), free_port()
    env = {
        "NATS_SERVER_NAME": "n1",
        "NATS_HOST": "127.0.0.1",
        "NATS_CLIENT_PORT": str(free_port()),
        "NATS_MONITOR_PORT": str(monitor),
        "NATS_CLUSTER_NAME": "coop",
        "NATS_CLUSTER_PORT": str(cluster),
        "NATS_ROUTES": f"[nats://127.0.0.1:{cluster}]",
        "NATS_STORE_DIR": str(tmp_path / "store"),
    }
    jetstream = _run(CLUSTER_CONF, env, monitor)
    assert jetstream["sync_always"] is True
    assert jetstream["store_dir"].startswith(str(tmp_path / "store"))


def test_the_single_node_config_runs_with_every_message_fsynced(tmp_path: Path) -> None:
    """The compose file as it is, but for its ports and store (a test cannot take 4222 or /data)."""
    monitor = free_port()
    text = SINGLE_CONF.read_text(encoding="utf-8")
    moved = re.sub(r"^port: 4222$", f"port: {free_port()}", text, flags=re.MULTILINE)
    moved = re.sub(r"^http_port: 8222$", f"http_port: {monitor}", moved, flags=re.MULTILINE)
    moved = re.sub(
        r"^(\s*)store_dir: /data$",
        lambda m: f"{m[1]}store_dir: {json.dumps(str(tmp_path / 'store'))}",
        moved,
        flags=re.MULTILINE,
    )
    assert moved.count(str(tmp_path)) == 1 and moved != text
    config = tmp_path / "nats.conf"
    config.write_text(moved, encoding="utf-8")
    jetstream = _run(config, {}, monitor)
    assert jetstream["sync_always"] is True


def test_the_readme_and_guarantees_say_what_the_configs_do() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    operations = readme.split("## Operations", 1)[1].split("\n## ", 1)[0]
    assert f"sync_interval: {SYNC_INTERVAL}" in operations
    for path in ("deploy/nats/nats.conf", "deploy/nats/cluster.conf"):
        assert path in operations
    guarantees = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    assert "keep nats-server's default" not in guarantees
