"""Failed credential attempts per client address, so a token cannot be guessed at network speed.

A client address whose credentials (API key, admin token, console sign-in) were refused ``limit`` times within
``window`` seconds is refused outright, with ``429`` and ``Retry-After``, until the oldest of those failures is
``window`` old: while it is blocked even a right guess is not checked, so guessing gains nothing. Requests that
need no credentials (health, metrics, the sign-in page) are never blocked.

The address is the one uvicorn reports: behind a reverse proxy, set ``FORWARDED_ALLOW_IPS`` to the proxy's
address so that it is the client's (from ``X-Forwarded-For``) and not the proxy's, or every client shares one
budget.

Pure and in memory: time is passed in, and each process counts on its own (with several replicas, an attacker's
budget is ``limit`` per replica per window). At most ``max_clients`` addresses are remembered; past that, the
least recently failing one is forgotten, so a flood of spoofed addresses cannot grow the process.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque


class FailedAttempts:
    def __init__(self, *, limit: int, window: float, max_clients: int = 10_000) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def retry_after(self, client: str, now: float) -> int | None:
        """Whole seconds until ``client`` may try again (at least 1), or None if it is not blocked."""
        failures = self._recent(client, now)
        if failures is None or len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[-self.limit] + self.window - now))

    def failed(self, client: str, now: float) -> None:
        """Count one refused attempt by ``client``."""
        failures = self._recent(client, now)
        if failures is None:
            failures = self._failures[client] = deque(maxlen=self.limit)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(client)
        failures.append(now)


def too_many_failures(retry_after: int) -> str:
    return f"Too many refused credentials from this address; try again in {retry_after} s."
