"""The embedded runner behind `coop up`: a nats-server and the services as child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

import httpx

from services import registry
from shared.errors import ConfigurationError
from shared.nats_server import NatsServer
from shared.runtime import ensure_port_free
from shared.settings import ServiceSettings


class Supervisor:
    """Starts, watches and stops the platform's processes on one machine."""

    def __init__(self, data_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.environ = dict(os.environ if environ is None else environ)
        self.environ["COOP_DATA_DIR"] = str(self.data_dir)
        self.nats: NatsServer | None = None
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.settings = {
            name: ServiceSettings.from_env(name, self.environ) for name in registry.available()
        }
        self._stopping = False

    def url(self, service: str) -> str:
        """The base URL of a service."""
        settings = self.settings[service]
        return f"http://{settings.host}:{settings.port}"

    @property
    def stopping(self) -> bool:
        """True once SIGINT/SIGTERM asked the platform to stop."""
        return self._stopping

    def start(self, timeout: float = 60.0) -> None:
        """Start NATS (unless `COOP_NATS_URL` is set) and every service; wait until ready.

        SIGINT/SIGTERM are caught from here on, so a stop asked during start-up still stops
        every child (the wait for readiness then ends early; see `stopping`).
        """
        for name, settings in self.settings.items():
            ensure_port_free(settings.host, settings.port, name)
        self._catch_stop_signals()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.environ.get("COOP_NATS_URL"):
            self.nats = NatsServer(self.data_dir / "nats").start()
            self.environ["COOP_NATS_URL"] = self.nats.url
        print(f"nats        {self.environ['COOP_NATS_URL']}", flush=True)
        for name in self.settings:
            self.children[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", name], env=self.environ
            )
        self._wait_ready(timeout)
        if self._stopping:
            return
        for name in self.settings:
            print(f"{name:<11} {self.url(name)}", flush=True)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.settings)
        with httpx.Client(timeout=1.0) as client:
            while pending and not self._stopping:
                for name in list(pending):
                    child = self.children[name]
                    if child.poll() is not None:
                        raise ConfigurationError(f"{name} exited with status {child.returncode}")
                    try:
                        if client.get(f"{self.url(name)}/readyz").status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise ConfigurationError(f"not ready after {timeout:.0f} s: {sorted(pending)}")
                if pending:
                    time.sleep(0.05)

    def _catch_stop_signals(self) -> None:
        def request_stop(_signum: int, _frame: FrameType | None) -> None:
            self._stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

    def run_until_signalled(self) -> int:
        """Block until SIGINT/SIGTERM (exit 0) or until a service dies (exit 1)."""
        self._catch_stop_signals()
        while not self._stopping:
            for name, child in self.children.items():
                if child.poll() is not None:
                    print(f"{name} stopped unexpectedly (status {child.returncode})", flush=True)
                    self.stop()
                    return 1
            time.sleep(0.2)
        self.stop()
        return 0

    def stop(self) -> None:
        """Stop the services, then NATS."""
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children.values():
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(5)
        if self.nats is not None:
            self.nats.stop()
