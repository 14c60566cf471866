"""Test-only crash points for `coop serve`: the process dies like kill -9 at a chosen call.

Loaded only when a fault test puts this directory on a child process's PYTHONPATH, and active
only when that child's environment sets `COOP_FAULT_CRASH` to
`module:Owner.method:when:n` — the n-th call of that method (`when` = `before` it runs, or
`after` it returned) ends the process at once with `os._exit(137)`: no cleanup, no response,
no commit of whatever transaction is open, as with SIGKILL.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
import threading
from typing import Any


def _crash(spec: str) -> None:
    sys.stderr.write(f"crash point reached: {spec}\n")
    sys.stderr.flush()
    os._exit(137)


def install(spec: str) -> None:
    """Wrap the named method so that its n-th call ends the process."""
    module_name, attribute, when, nth = spec.split(":")
    owner_path, method_name = attribute.rsplit(".", 1)
    owner: Any = importlib.import_module(module_name)
    for part in owner_path.split("."):
        owner = getattr(owner, part)
    original = getattr(owner, method_name)
    target = int(nth)
    calls = 0
    lock = threading.Lock()

    def reached() -> bool:
        nonlocal calls
        with lock:
            calls += 1
            return calls == target

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
            crash = reached()
            if crash and when == "before":
                _crash(spec)
            result = await original(*args, **kwargs)
            if crash:
                _crash(spec)
            return result

        setattr(owner, method_name, wrapped_async)
    else:

        @functools.wraps(original)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            crash = reached()
            if crash and when == "before":
                _crash(spec)
            result = original(*args, **kwargs)
            if crash:
                _crash(spec)
            return result

        setattr(owner, method_name, wrapped)


if os.environ.get("COOP_FAULT_CRASH"):
    install(os.environ["COOP_FAULT_CRASH"])
