"""Helpers the tests share: real nats-server, real service processes, PostgreSQL schemas."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from shared.nats_server import NatsServer, free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "dev-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
READY_TIMEOUT = float(os.environ.get("COOP_TEST_READY_TIMEOUT", "60"))
"""Seconds a started service has to answer `/readyz`: a service takes about 1 s alone, much
more on a machine busy with other work (COOP_TEST_READY_TIMEOUT)."""


class ServiceProcess:
    """`coop serve NAME` as a real child process, on a free port."""

    def __init__(self, name: str, data_dir: Path, nats_url: str, **env: str) -> None:
        self.name = name
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {
            **os.environ,
            "COOP_DATA_DIR": str(data_dir),
            "COOP_NATS_URL": nats_url,
            f"COOP_{name.upper()}_PORT": str(self.port),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"{name}.log"

    @property
    def url(self) -> str:
        """The service's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait_ready: bool = True, timeout: float | None = None) -> ServiceProcess:
        """Start the process and wait for `/readyz` (or `/healthz` without `wait_ready`)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", self.name],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        path = "/readyz" if wait_ready else "/healthz"
        deadline = time.monotonic() + (timeout or READY_TIMEOUT)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no chance to clean up."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM and wait; return the exit status."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        """An HTTP client on the service, with a bearer token unless None."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


def wait_for(predicate: Any, timeout: float = 15, interval: float = 0.05) -> Any:
    """Poll `predicate` until it returns a truthy value; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


async def stream_messages(nats_url: str, stream: str) -> list[dict[str, Any]]:
    """Every message on a stream, in order, as {seq, subject, headers, body}."""
    import nats

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq=seq)
            out.append(
                {
                    "seq": seq,
                    "subject": msg.subject,
                    "headers": msg.headers or {},
                    "body": json.loads(msg.data or b"{}"),
                }
            )
        return out
    finally:
        await nc.close()


def postgres_base_url() -> str | None:
    """`COOP_TEST_POSTGRES_URL`, normalised to the psycopg driver."""
    url = os.environ.get("COOP_TEST_POSTGRES_URL")
    if not url:
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A fresh schema for one test; yields a URL whose search_path is that schema."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def env_without(environ: Mapping[str, str], *names: str) -> dict[str, str]:
    """A copy of an environment without some names."""
    return {k: v for k, v in environ.items() if k not in names}


__all__ = ["AUTH", "TOKEN", "NatsServer", "ServiceProcess", "free_port", "wait_for"]
