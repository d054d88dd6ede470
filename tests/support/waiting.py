"""Waiting in async tests for what a gateway process does a moment after it answered (log lines
written in batches, sockets and files closed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], T], accept: Callable[[T], bool], timeout: float = 5.0, interval: float = 0.1) -> T:
    """Call `probe` until `accept(result)`; returns the last result either way (assert on it)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if accept(result) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)


async def eventually_async(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], timeout: float = 5.0, interval: float = 0.1
) -> T:
    """`eventually` for a probe that must be awaited (a store query, an HTTP request)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if accept(result) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)
