"""Container health check: exit 0 when the service in this container answers 200 on /readyz.

Usage: ``python /app/healthcheck.py [URL]``. Without a URL, the service is the one this
container runs (``coop serve SERVICE``, read from the process table) and its port is
``COOP_<SERVICE>_PORT``, else the contract's default. Standard library only, so the probe costs
a few milliseconds and never imports the application.
"""

from __future__ import annotations

import itertools
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_PORTS = {"membership": 8001, "events": 8002, "ambassadors": 8003, "reporting": 8004}


def served_service(proc: Path = Path("/proc")) -> str | None:
    """The SERVICE of the `coop serve SERVICE` process running in this container."""
    candidates = [proc / "1" / "cmdline", *proc.glob("[0-9]*/cmdline")]
    for cmdline in candidates:  # PID 1 first: in the image, that is `coop serve SERVICE`
        try:
            words = [w.decode() for w in cmdline.read_bytes().split(b"\0") if w]
        except OSError:
            continue
        for before, after in itertools.pairwise(words):
            if before == "serve" and after in DEFAULT_PORTS:
                return after
    return None


def readiness_url(proc: Path = Path("/proc")) -> str:
    """The /readyz URL of this container's service."""
    service = served_service(proc)
    if service is None:
        raise SystemExit("healthcheck: no `coop serve SERVICE` process found")
    port = os.environ.get(f"COOP_{service.upper()}_PORT") or str(DEFAULT_PORTS[service])
    return f"http://127.0.0.1:{port}/readyz"


def main(argv: list[str]) -> int:
    """Probe the URL; 0 when it answers 200, else 1."""
    url = argv[1] if len(argv) > 1 else readiness_url()
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"healthcheck: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
