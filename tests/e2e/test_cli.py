"""The `coop` command (contract §8), run as a real program."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from services import cli
from shared.settings import SERVICES
from tests.support import ROOT, ServiceProcess, free_port

pytestmark = pytest.mark.e2e

COOP = Path(sys.executable).parent / "coop"
URL = re.compile(r"(nats|http)://127\.0\.0\.1:(\d+)")


def coop(*args: str) -> list[str]:
    """The installed `coop` command (or the module, where no script was installed)."""
    if COOP.exists():
        return [str(COOP), *args]
    return [sys.executable, "-m", "services.cli", *args]


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any COOP_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOP_")}
    return {**env, **extra}


def ports_env() -> dict[str, str]:
    return {f"COOP_{service.upper()}_PORT": str(free_port()) for service in SERVICES}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        coop(*args),
        env=env or clean_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_installed_command_answers_help_and_refuses_a_wrong_argument() -> None:
    helped = run("--help")
    refused = run("frobnicate")

    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: coop")
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1, refused.stderr


def main_of(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`coop ARGS` in this process: its exit status, stdout and stderr."""
    try:
        status = cli.main(args)
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    "args",
    [[], ["up"], ["demo"], ["serve"], ["report"]],
    ids=["coop", "up", "demo", "serve", "report"],
)
def test_every_command_answers_help(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = main_of([*args, "--help"], capsys)

    assert status == 0
    assert out.startswith("usage: coop")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["serve"],
        ["serve", "payroll"],
        ["up", "--bogus"],
        ["up", "--data-dir"],
        ["demo", "extra"],
        ["report"],
        ["report", "2023-2024", "--lang", "de"],
        ["report", "2023"],
    ],
    ids=lambda args: " ".join(args) or "nothing",
)
def test_a_wrong_argument_gives_a_one_line_error_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = main_of(args, capsys)

    assert status == 2
    assert out == ""
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    assert "error" in err


class Running:
    """`coop up` as a child process, its output read line by line as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stdout is not None
        stdout = process.stdout

        def read() -> None:
            for line in stdout:
                self.lines.put(line)

        threading.Thread(target=read, daemon=True).start()

    def wait_for_line(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; saw {self.seen}")


@contextmanager
def coop_up(tmp_path: Path, env: dict[str, str]) -> Iterator[Running]:
    process = subprocess.Popen(
        coop("up", "--data-dir", "data"),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield Running(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_coop_up_prints_its_urls_serves_readyz_and_stops_cleanly_on_a_signal(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    ports = ports_env()
    with coop_up(tmp_path, clean_env(**ports)) as up:
        up.wait_for_line(r"^ready")
        urls = [m for line in up.seen for m in URL.findall(line)]
        nats_ports = [int(port) for scheme, port in urls if scheme == "nats"]
        service_ports = [int(port) for scheme, port in urls if scheme == "http"]

        assert len(nats_ports) == 1
        assert "membership" in "".join(up.seen)
        assert set(service_ports) <= {int(p) for p in ports.values()}
        assert int(ports["COOP_MEMBERSHIP_PORT"]) in service_ports
        for port in service_ports:
            assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
        assert (tmp_path / "data" / "nats").is_dir()

        up.process.send_signal(stop_signal)
        assert up.process.wait(30) == 0

    assert not any(listening(port) for port in [*nats_ports, *service_ports])


def test_coop_up_stopped_while_starting_stops_every_child(tmp_path: Path) -> None:
    ports = ports_env()
    with coop_up(tmp_path, clean_env(**ports)) as up:
        line = up.wait_for_line(r"nats://")
        up.process.send_signal(signal.SIGTERM)

        assert up.process.wait(30) == 0

    nats_port = int(URL.findall(line)[0][1])
    time.sleep(0.5)
    assert not listening(nats_port)
    assert not any(listening(int(port)) for port in ports.values())


def test_coop_up_on_a_taken_port_says_so_and_exits_non_zero(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_env(**{**ports_env(), "COOP_MEMBERSHIP_PORT": str(port)})

        done = subprocess.run(
            coop("up", "--data-dir", str(tmp_path / "data")),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert done.returncode != 0
    assert f"port {port}" in done.stderr
    assert "in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_coop_serve_on_a_taken_port_says_so_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_env(
            COOP_MEMBERSHIP_PORT=str(port),
            COOP_DATA_DIR=str(tmp_path),
            COOP_NATS_URL="nats://127.0.0.1:1",
        )

        done = run("serve", "membership", env=env)

    assert done.returncode == 1
    assert f"port {port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_coop_serve_in_production_without_tokens_exits_1_with_one_line(tmp_path: Path) -> None:
    env = clean_env(
        COOP_ENV="production",
        COOP_DATA_DIR=str(tmp_path),
        COOP_MEMBERSHIP_PORT=str(free_port()),
        COOP_NATS_URL="nats://127.0.0.1:1",
    )

    done = run("serve", "membership", env=env)

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "COOP_API_TOKENS" in done.stderr


@pytest.mark.parametrize(
    "tokens",
    ["", "{}", '["dev-admin-token"]', "not json", '{"t": "read"}'],
    ids=["empty", "empty-object", "a-list", "not-json", "scopes-not-a-list"],
)
def test_coop_serve_in_production_with_tokens_that_are_not_an_object_exits_1(
    tmp_path: Path,
    tokens: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in [k for k in os.environ if k.startswith("COOP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COOP_ENV", "production")
    monkeypatch.setenv("COOP_API_TOKENS", tokens)
    monkeypatch.setenv("COOP_DATA_DIR", str(tmp_path))

    status, _, err = main_of(["serve", "membership"], capsys)

    assert status == 1
    assert err.count("\n") == 1, err
    assert "COOP_API_TOKENS" in err


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_coop_serve_stops_cleanly_with_exit_0_on_a_signal(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    service = ServiceProcess("membership", tmp_path, "nats://127.0.0.1:1").start(wait_ready=False)
    assert service.process is not None
    try:
        service.process.send_signal(stop_signal)
        status = service.process.wait(20)
    finally:
        service.kill()

    assert status == 0
    log = service.log_path.read_text(encoding="utf-8")
    assert "Traceback" not in log
    assert "Application shutdown complete" in log
