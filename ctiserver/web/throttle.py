"""Sign-in throttling: too many wrong passwords for one login (or from one address) wait a while.

Agent passwords are often short; without this, a script could try them all. Kept in
memory (one server process), bounded in size, and cleared for a login by a success.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable


class LoginThrottle:
    """Counts recent failures per key; a key with too many is refused until the oldest ages out."""

    def __init__(self, max_failures: int = 5, window_seconds: float = 300.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        cutoff = self._clock() - self.window
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def retry_after(self, key: str, limit: int | None = None) -> float:
        """Seconds until this key may try again; 0 when it may now."""
        stamps = self._recent(key)
        if len(stamps) < (limit or self.max_failures):
            return 0.0
        return max(0.0, stamps[0] + self.window - self._clock())

    def failed(self, key: str) -> None:
        """Record a wrong password for this key."""
        if key not in self._failures and len(self._failures) >= self.max_keys:
            self._prune()
        self._failures.setdefault(key, deque()).append(self._clock())

    def succeeded(self, key: str) -> None:
        """A right password clears the key's failures."""
        self._failures.pop(key, None)

    def _prune(self) -> None:
        for key in list(self._failures):
            self._recent(key)
        while len(self._failures) >= self.max_keys:  # still full: forget the oldest keys
            del self._failures[next(iter(self._failures))]
