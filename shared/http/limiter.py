"""The throttle on failed authentications: a sliding window per client address."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class FailedAuthLimiter:
    """Counts failed authentications per client address in a sliding window."""

    def __init__(self, limit: int = 30, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until this client may try again (0 if it may now)."""
        with self._lock:
            failures = self._prune(client)
            if len(failures) < self.limit:
                return 0
            return max(1, int(failures[0] + self.window - time.monotonic()) + 1)

    def fail(self, client: str) -> None:
        """Record one failed attempt."""
        with self._lock:
            self._prune(client).append(time.monotonic())

    def _prune(self, client: str) -> deque[float]:
        failures = self._failures[client]
        horizon = time.monotonic() - self.window
        while failures and failures[0] < horizon:
            failures.popleft()
        return failures
