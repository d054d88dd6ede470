"""Failed logins are slowed per (user, client address), never locking the account for others."""

from __future__ import annotations

import time

_LIMIT = 100_000


class LoginThrottle:
    def __init__(self, max_failures: int, window_seconds: int) -> None:
        self._max = max_failures
        self._window = window_seconds
        self._failures: dict[tuple[str, str], list[float]] = {}

    def _recent(self, key: tuple[str, str], now: float) -> list[float]:
        times = [t for t in self._failures.get(key, []) if t > now - self._window]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    def retry_after(self, username: str, address: str, now: float | None = None) -> int:
        """Seconds this (user, address) must wait before trying again; 0 when it may try now."""
        moment = time.monotonic() if now is None else now
        times = self._recent((username, address), moment)
        if len(times) < self._max:
            return 0
        return max(1, int(times[-self._max] + self._window - moment) + 1)

    def failed(self, username: str, address: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        if len(self._failures) >= _LIMIT:
            self._failures.clear()
        self._failures.setdefault((username, address), []).append(moment)

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop((username, address), None)
