"""Follow the store's data version and wake whoever waits for a change.

MariaDB's version is a row every process must read (`Store.poll_version`); SQLite's is the same
row, read again only when its WAL index shows a commit. Either way this loop looks a few times
a second, so what depends on the store's content without reading it per request (the revocation
view, and through the version the grant and tag caches) follows a change made by any process
within one poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from gateway.background import running
from gateway.store.base import Store
from gateway.store.records import StoreError

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 0.25


class ChangeWatch:
    def __init__(self, store: Store, interval: float = DEFAULT_POLL_SECONDS) -> None:
        self._store = store
        self._interval = interval
        self._version = store.data_version()
        self._changed = asyncio.Event()
        self.generation = 0  # how many changes were seen
        self._failing = False

    def check(self) -> None:
        """Note the store's current version; a new one wakes the waiters."""
        version = self._store.data_version()
        if version is None or version == self._version:
            return
        self._version = version
        self.generation += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def changed_since(self, generation: int, timeout: float) -> int:
        """Wait until a change after `generation` was seen, or `timeout` seconds; the generation now."""
        if self.generation == generation:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
        return self.generation

    async def poll(self) -> None:
        """Read the version once (a failure is logged once, until a read succeeds again)."""
        try:
            await self._store.poll_version()
            if self._failing:
                log.info("store change version readable again")
            self._failing = False
        except StoreError as exc:
            if not self._failing:
                log.warning("store change version not read (caches off until it is): %s", exc)
            self._failing = True
        self.check()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.poll()


async def watching(watch: ChangeWatch) -> AsyncIterator[None]:
    """Cleanup-context body: one poll before serving (caches start warm), then follow."""
    await watch.poll()
    async with running(watch.run(), "store-change-watch"):
        yield
