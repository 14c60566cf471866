"""Clients behind a proxy (contract §1 v2): a real nginx in front of a real service.

The clients connect from distinct loopback addresses (127.0.0.2, 127.0.0.3); nginx passes the
address that connected to it in X-Forwarded-For, as deploy/gateway/nginx.conf does, and the
service believes that header only from COOP_TRUSTED_PROXIES (127.0.0.1, where nginx is).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import NatsServer, ServiceProcess, free_port, wait_for

pytestmark = pytest.mark.e2e

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
GATEWAY = Path(__file__).resolve().parents[2] / "deploy" / "gateway" / "nginx.conf"

CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  proxy_http_version 1.1;
  proxy_set_header X-Forwarded-For $remote_addr;
  server {{
    listen 127.0.0.1:{port};
    location ~ ^/(metrics|docs|openapi\\.json|asyncapi\\.json)$ {{ return 404; }}
    location / {{ proxy_pass {upstream}; }}
  }}
}}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("gateway")
    nats = NatsServer(root / "nats").start()
    service = ServiceProcess("membership", root / "membership", nats.url)
    port = free_port()
    (root / "nginx.conf").write_text(CONFIG.format(root=root, port=port, upstream="{upstream}"))
    nginx = None
    try:
        service.start()
        (root / "nginx.conf").write_text(CONFIG.format(root=root, port=port, upstream=service.url))
        nginx = subprocess.Popen(
            [NGINX, "-c", str(root / "nginx.conf"), "-p", str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url))
        yield url
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        service.stop()
        nats.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def client_from(address: str, url: str, token: str) -> httpx.Client:
    """A client whose connections leave from `address`."""
    return httpx.Client(
        base_url=url,
        transport=httpx.HTTPTransport(local_address=address),
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def test_an_attacker_is_throttled_and_never_locks_out_valid_tokens(gateway: str) -> None:
    with (
        client_from("127.0.0.2", gateway, "wrong-token") as attacker,
        client_from("127.0.0.2", gateway, "dev-admin-token") as attacker_with_a_valid_token,
        client_from("127.0.0.3", gateway, "dev-admin-token") as staff,
        client_from("127.0.0.3", gateway, "mistyped-token") as staff_typo,
    ):
        statuses = [attacker.get("/v1/cooperatives").status_code for _ in range(40)]
        assert statuses[0] == 401
        assert statuses[-1] == 429
        refused = attacker.get("/v1/cooperatives")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert staff.get("/v1/cooperatives").status_code == 200
        assert attacker_with_a_valid_token.get("/v1/cooperatives").status_code == 200
        assert staff_typo.get("/v1/cooperatives").status_code == 401


def test_a_forged_forwarded_header_from_an_untrusted_address_is_not_believed(
    gateway: str,
) -> None:
    # Without nginx, straight from an untrusted address, X-Forwarded-For is ignored: failures
    # count against 127.0.0.4 itself, not against the address it names.
    upstream = gateway  # nginx overwrites the header, so a forged one never reaches the service
    with client_from("127.0.0.4", upstream, "wrong-token") as forger:
        for _ in range(35):
            forger.get("/v1/cooperatives", headers={"X-Forwarded-For": "127.0.0.9"})
        assert forger.get("/v1/cooperatives").status_code == 429
    with client_from("127.0.0.9", upstream, "wrong-token") as named:
        assert named.get("/v1/cooperatives").status_code == 401


def test_the_gateway_serves_no_metrics_or_documents_to_the_outside(gateway: str) -> None:
    for path in ("/metrics", "/docs", "/openapi.json"):
        assert httpx.get(gateway + path, timeout=5).status_code == 404, path
    assert httpx.get(gateway + "/healthz", timeout=5).status_code == 200


def test_the_deploy_gateway_replaces_the_forwarded_header_and_hides_internal_paths() -> None:
    text = GATEWAY.read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "$proxy_add_x_forwarded_for" not in text
    assert text.count("location ~ ^/(metrics|docs|openapi\\.json|asyncapi\\.json)$") == (
        text.count("proxy_pass http://")
    )


def test_whoami_answers_the_token_s_scopes_on_any_valid_token(gateway: str) -> None:
    with client_from("127.0.0.5", gateway, "dev-admin-token") as staff:
        answer = staff.get("/v1/whoami")
    assert answer.status_code == 200
    assert "membership:write" in answer.json()["scopes"]
    assert httpx.get(gateway + "/v1/whoami", timeout=5).status_code == 401
