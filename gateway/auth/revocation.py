"""An in-memory view of who may no longer use issued tokens, refreshed from the store.

The proxy asks it on every request; it never touches the database itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from gateway.store import Store, StoreError

log = logging.getLogger(__name__)


class RevocationView:
    def __init__(self) -> None:
        self._disabled: frozenset[str] = frozenset()

    def is_revoked(self, subject: str) -> bool:
        return subject in self._disabled

    def replace(self, disabled: frozenset[str]) -> None:
        self._disabled = disabled

    async def refresh(self, store: Store) -> None:
        self.replace(await store.disabled_usernames())

    async def run(self, store: Store, interval: float) -> None:
        """Refresh forever; a failing store keeps the last view (and says so)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh(store)
            except StoreError as exc:
                log.warning("revocation view not refreshed: %s", exc)


async def refreshing(view: RevocationView, store: Store, interval: float) -> AsyncIterator[None]:
    """Cleanup-context body: load once, then keep refreshing until shutdown."""
    await view.refresh(store)
    task = asyncio.create_task(view.run(store, interval), name="revocation-refresh")
    yield
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
