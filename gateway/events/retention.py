"""Keep the event log bounded by age and/or count (settings), pruning in the background."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from gateway.background import running
from gateway.store import CountMark, Store, StoreError

log = logging.getLogger(__name__)

PRUNE_INTERVAL_SECONDS = 5.0


# By count, the log may grow this share over the count before it is pruned back to it: finding
# where the newest `count` events begin walks `count` rows, so it runs once per 1% of growth
# rather than every few seconds.
COUNT_SLACK = 0.01


async def prune_once(store: Store, days: int, count: int, mark: CountMark | None = None) -> int:
    """`mark`: the same object round after round (see `CountMark`)."""
    older_than = int((time.time() - days * 86400) * 1000) if days else None
    removed = await store.prune_events(older_than, count or None, slack=int(count * COUNT_SLACK), mark=mark)
    if removed:
        log.info("event retention removed %d events", removed)
    return removed


async def pruning(store: Store, days: int, count: int, interval: float = PRUNE_INTERVAL_SECONDS) -> AsyncIterator[None]:
    """Cleanup-context body: prune at start and then periodically (nothing to do when unbounded)."""

    async def loop() -> None:
        mark = CountMark()
        while True:
            try:
                await prune_once(store, days, count, mark)
            except StoreError as exc:
                log.warning("event retention skipped: %s", exc)
            await asyncio.sleep(interval)

    if not (days or count):
        yield
        return
    async with running(loop(), "event-retention"):
        yield
