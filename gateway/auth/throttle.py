"""Failed logins are slowed per (user, client address), never locking the account for others.

The table is bounded, and a flood of cheap failures (unknown users, malformed application
tokens: no KDF runs for those) cannot buy anyone a fresh start. Keys below the limit and keys
at it live in two tables, each evicting the one whose last failure is oldest: a flood of fresh
keys only pushes out other keys that have not reached the limit yet (worth at most
`max_failures - 1` guesses each), never a key that is being throttled. Emptying the throttled
table takes `BLOCKED_LIMIT` keys with `max_failures` failures each within one window, and
what that evicts first is the key closest to the end of its wait. Keys are a short hash of
(user, address), so a 4 KiB user name costs what a short one does.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

WATCHED_LIMIT = 50_000  # ~15 MiB when full (measured with tracemalloc)
BLOCKED_LIMIT = 50_000  # ~17 MiB when full


def _key(username: str, address: str) -> bytes:
    material = f"{len(username)}:{username}\0{address}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(material, digest_size=16).digest()


class LoginThrottle:
    def __init__(
        self, max_failures: int, window_seconds: int, *, watched_limit: int = WATCHED_LIMIT, blocked_limit: int = BLOCKED_LIMIT
    ) -> None:
        self._max = max_failures
        self._window = window_seconds
        # key -> times of its recent failures (the last `max_failures` at most), oldest first;
        # each table is ordered by last failure, least recent first.
        self._watched: OrderedDict[bytes, tuple[float, ...]] = OrderedDict()
        self._blocked: OrderedDict[bytes, tuple[float, ...]] = OrderedDict()
        self._watched_limit = watched_limit
        self._blocked_limit = blocked_limit

    def __len__(self) -> int:
        return len(self._watched) + len(self._blocked)

    def _recent(self, key: bytes, now: float) -> tuple[float, ...]:
        """The key's failures within the window, dropping it from the tables when there are none."""
        times = self._blocked.get(key)
        if times is None:
            times = self._watched.get(key, ())
        recent = tuple(t for t in times if t > now - self._window)
        if not recent:
            self._blocked.pop(key, None)
            self._watched.pop(key, None)
        return recent

    def retry_after(self, username: str, address: str, now: float | None = None) -> int:
        """Seconds this (user, address) must wait before trying again; 0 when it may try now."""
        moment = time.monotonic() if now is None else now
        times = self._recent(_key(username, address), moment)
        if len(times) < self._max:
            return 0
        return max(1, int(times[-self._max] + self._window - moment) + 1)

    def failed(self, username: str, address: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        key = _key(username, address)
        times = (*self._recent(key, moment), moment)[-self._max:]
        self._watched.pop(key, None)
        self._blocked.pop(key, None)
        if len(times) >= self._max:
            self._put(self._blocked, self._blocked_limit, key, times, moment)
        else:
            self._put(self._watched, self._watched_limit, key, times, moment)

    def _put(
        self, table: OrderedDict[bytes, tuple[float, ...]], limit: int, key: bytes, times: tuple[float, ...], now: float
    ) -> None:
        table[key] = times
        while table:  # the least recent keys first: those past the window, then any over the limit
            oldest = next(iter(table.values()))
            if oldest[-1] > now - self._window and len(table) <= limit:
                break
            table.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        key = _key(username, address)
        self._watched.pop(key, None)
        self._blocked.pop(key, None)
