"""What every benchmark starts and stops: nats-server, PostgreSQL schemas, service processes.

Everything listens on 127.0.0.1, on free ports, with its state under one temporary directory
that the run deletes at the end.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from shared.nats_server import NatsServer, free_port, server_config

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "dev-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --- the machine ----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the figures were measured on: cores, CPU model, memory, Python."""
    model = platform.processor() or platform.machine()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        found = re.search(r"^Model name:\s*(.+)$", lscpu, re.MULTILINE)
        if found:
            model = found.group(1).strip()
    except (OSError, subprocess.SubprocessError):
        pass
    memory = "?"
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kib = int(re.search(r"^MemTotal:\s*(\d+)", meminfo, re.MULTILINE).group(1))  # type: ignore[union-attr]
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError, ValueError):
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def rss_mib(pid: int) -> float:
    """Resident memory of a process (VmRSS in /proc/PID/status), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmRSS:\s*(\d+)\s*kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/PID/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_url(given: str | None = None) -> str:
    """The PostgreSQL server: --postgres-url, else COOP_TEST_POSTGRES_URL, else the local one."""
    url = given or os.environ.get("COOP_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def postgres_reachable(url: str) -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:  # any failure means: skip the PostgreSQL figures
        return str(error).splitlines()[0][:200]


@dataclass(frozen=True)
class PostgresSchema:
    """A fresh schema: its name and a URL whose search_path is that schema."""

    name: str
    url: str
    base_url: str

    def eventsourcing_env(self) -> dict[str, str]:
        """eventsourcing's settings for a plain Application in this schema."""
        parsed = sa.engine.make_url(self.base_url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.database or "",
            "POSTGRES_HOST": parsed.host or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": parsed.username or "",
            "POSTGRES_PASSWORD": parsed.password or "",
            "POSTGRES_SCHEMA": self.name,
        }


@contextmanager
def postgres_schema(base_url: str) -> Iterator[PostgresSchema]:
    """A schema created for one benchmark and dropped after it."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield PostgresSchema(name, f"{base_url}{separator}options=-csearch_path%3D{name}", base_url)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()


# --- NATS --------------------------------------------------------------------------------------


FSYNC_ALWAYS = "sync_interval: always"
FSYNC_DEFAULT = "default sync (fsync every 2 min)"


@contextmanager
def nats_server(store_dir: Path, *, fsync_always: bool = True) -> Iterator[NatsServer]:
    """A nats-server with JetStream on a free port, stopped afterwards.

    The embedded server's configuration (`sync_interval: always`), or with `fsync_always=False`
    nats-server's default sync interval, as deploy/nats/*.conf (compose, three-node cluster) run.
    """
    extra: list[str] = []
    if not fsync_always:
        store_dir.mkdir(parents=True, exist_ok=True)
        config = store_dir / "nats-server-default-sync.conf"
        text = re.sub(r"^\s*sync_interval:.*\n", "", server_config(store_dir), flags=re.MULTILINE)
        if "sync_interval" in text:
            raise RuntimeError(f"cannot drop sync_interval from the embedded configuration: {text}")
        config.write_text(text)
        extra = ["-c", str(config)]  # the last -c wins over the embedded configuration
    server = NatsServer(store_dir, extra_args=extra).start()
    try:
        yield server
    finally:
        server.stop()


def run_async(coroutine: Any) -> Any:
    """Run a coroutine on a fresh event loop (uvloop, as the services do, when installed)."""
    try:
        import uvloop

        return uvloop.run(coroutine)
    except ImportError:
        return asyncio.run(coroutine)


# --- processes ---------------------------------------------------------------------------------


class Process:
    """A child process on loopback whose log goes to a file; stopped with SIGTERM."""

    def __init__(
        self, name: str, argv: list[str], env: Mapping[str, str], log_path: Path, port: int
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.log_path = log_path
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.process is not None
        return self.process.pid

    def start(self) -> Process:
        """Start the process (without waiting)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    def wait_http(self, path: str = "/readyz", timeout: float = 60) -> float:
        """Poll `path` until it answers 200; return the seconds since start."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.tail()}")
                try:
                    if client.get(self.url + path).status_code == 200:
                        return time.perf_counter() - self.started_at
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
        raise RuntimeError(f"{self.name} not ready within {timeout} s: {self.tail()}")

    def tail(self) -> str:
        """The end of the process's log."""
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def rss_mib(self) -> float:
        """The process's resident memory now, in MiB."""
        return rss_mib(self.pid)

    def cpu_seconds(self) -> float:
        """CPU seconds the process has used so far."""
        return cpu_seconds(self.pid)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        """Signal the process and wait for it (SIGKILL after `timeout`)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def service_process(
    name: str, data_dir: Path, nats_url: str, *, database_url: str | None = None, **env: str
) -> Process:
    """`coop serve NAME` as a child process on a free port, configured by its environment."""
    port = free_port()
    environ = {
        **os.environ,
        "COOP_DATA_DIR": str(data_dir),
        "COOP_NATS_URL": nats_url,
        f"COOP_{name.upper()}_PORT": str(port),
        "COOP_API_TOKENS": "",
        "COOP_ENV": "development",
        "COOP_LOG_LEVEL": "WARNING",
        **env,
    }
    for variable in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        environ.pop(variable, None)
    if database_url:
        environ[f"COOP_{name.upper()}_DATABASE_URL"] = database_url
    return Process(
        name,
        [sys.executable, "-m", "services.cli", "serve", name],
        environ,
        data_dir / f"{name}.log",
        port,
    )


def bare_app_process(data_dir: Path) -> Process:
    """The bare FastAPI baseline app under uvicorn, on a free port."""
    port = free_port()
    return Process(
        "bare-fastapi",
        [sys.executable, "-m", "bench.bare_app", str(port)],
        os.environ,
        data_dir / "bare-fastapi.log",
        port,
    )


def wait_until(predicate: Any, timeout: float, interval: float = 0.05, what: str = "") -> Any:
    """Poll `predicate` until it returns a truthy value; raise after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached within {timeout} s: {what}")
        time.sleep(interval)


def metric_values(text: str, name: str) -> dict[str, float]:
    """Samples of one metric in an OpenMetrics text, by their label string."""
    values: dict[str, float] = {}
    pattern = re.compile(rf"^{re.escape(name)}(\{{[^}}]*\}})?\s+([0-9.eE+-]+|NaN)", re.MULTILINE)
    for labels, value in pattern.findall(text):
        values[labels] = float(value)
    return values
