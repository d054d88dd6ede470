"""One webhook endpoint's delivery lease while this process serves it: short, and kept alive by
a heartbeat, so a holder that dies (kill -9, a lost host) is taken over a few seconds later,
however long a delivery attempt may take.

The lease row names its holder and when it runs out (each instance's wall clock, so the
instances' clocks must agree within a second or so, as NTP keeps them). Taking it is one atomic
UPDATE in the store; the heartbeat extends it every HEARTBEAT_SECONDS, through POSTs in flight
and backoff sleeps alike. An extension that matches no row means another instance took it (or
the endpoint was deleted): the lease is lost, the work in flight under it is cancelled and the
round stops, and the new holder starts again from the saved cursor (at least once). An
extension that fails (the store unreachable) is tried again at the next beat until the lease
would run out before the one after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from gateway.background import running
from gateway.store import Store, StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

LEASE_MS = 4_000
HEARTBEAT_SECONDS = 1.0


def now_ms() -> int:
    return int(time.time() * 1000)


def lease_until(at_ms: int) -> int:
    """When a lease taken or extended at `at_ms` runs out if not extended again."""
    return at_ms + LEASE_MS


def runs_out_before_next_beat(at_ms: int, until_ms: int) -> bool:
    """Whether a lease that could not be extended at `at_ms` may be taken by another instance
    before the next heartbeat: its holder must stop delivering now."""
    return at_ms + int(HEARTBEAT_SECONDS * 1000) >= until_ms


class LeaseLost(Exception):
    """The lease went to another instance (or its endpoint is gone): stop delivering."""


class Lease:
    """A lease this process holds; `kept()` runs the heartbeat, `while_held` bounds work by it."""

    def __init__(self, store: Store, endpoint: str, holder: str, until_ms: int) -> None:
        self._store = store
        self.endpoint = endpoint
        self.holder = holder
        self._until = until_ms
        self._lost = asyncio.Event()
        self.reason = ""

    @classmethod
    async def take(cls, store: Store, endpoint: str, holder: str, at_ms: int) -> Lease | None:
        """The lease if it is free, run out, or already this holder's; else None."""
        until = lease_until(at_ms)
        if not await store.lease_webhook(endpoint, holder, at_ms, until):
            return None
        return cls(store, endpoint, holder, until)

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def _lose(self, reason: str) -> None:
        self.reason = reason
        self._lost.set()

    async def _extend(self) -> bool:
        """One heartbeat; False once the lease is lost."""
        at = now_ms()
        until = lease_until(at)
        try:
            held = await self._store.extend_webhook_lease(self.endpoint, self.holder, until)
        except StoreError as exc:
            if runs_out_before_next_beat(now_ms(), self._until):
                self._lose(f"not extended in time: {exc}")
                return False
            log.warning("webhook %s: lease not extended (tried again in %gs): %s", self.endpoint, HEARTBEAT_SECONDS, exc)
            return True
        if not held:
            self._lose("taken by another instance, or the endpoint was deleted")
            return False
        self._until = until
        return True

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if not await self._extend():
                return

    @contextlib.asynccontextmanager
    async def kept(self) -> AsyncIterator[Lease]:
        """The heartbeat runs for the duration of the block."""
        async with running(self._beat(), f"webhook-lease-{self.endpoint}"):
            yield self

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(self.reason)

    async def while_held(self, work: Awaitable[T]) -> T:
        """`work`'s result; LeaseLost, with `work` cancelled, if the lease is lost first."""
        task = asyncio.ensure_future(work)
        if self.lost:
            task.cancel()
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait((task, lost), return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.cancelled():
            raise LeaseLost(self.reason)
        return task.result()
