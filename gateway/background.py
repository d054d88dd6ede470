"""Background loops owned by the application: started in a cleanup context, cancelled (and
awaited) when it closes, never fire-and-forget."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[asyncio.Task[None]]:
    """Run `work` as a named task for the duration of the block."""
    task = asyncio.create_task(work, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Tasks:
    """Work started on request that outlives the request (a garbage collection started through
    the API): each task kept referenced, its expected failure `expected` logged, all cancelled
    (and awaited) by `close`."""

    def __init__(self, expected: tuple[type[Exception], ...] = ()) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._expected = expected

    def spawn(self, work: Coroutine[Any, Any, object], name: str) -> None:
        task = asyncio.create_task(self._logged(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _logged(self, work: Coroutine[Any, Any, object], name: str) -> None:
        try:
            await work
        except self._expected as exc:
            log.warning("%s failed: %s", name, getattr(exc, "message", exc))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
