"""A real webhook receiver (an aiohttp server) that can fail on purpose: the one fake the
tests need, since no real consumer misbehaves on demand."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gateway.events.model import new_event_id
from gateway.store import NewEvent
from tests.support.processes import free_port


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(json.loads(self.body)["events"])


@dataclass
class Receiver:
    """Answers 200 and keeps each delivery, unless `plan` says otherwise for the next requests:
    "500" answers an error, "slow" answers only after `slow_seconds` (past the sender's timeout),
    "hold" keeps the attempt in flight until `release()` (or the stop), then answers 503."""

    port: int
    plan: list[str] = field(default_factory=list)
    slow_seconds: float = 3.0
    deliveries: list[Delivery] = field(default_factory=list)
    refused_attempts: int = 0
    held_attempts: int = 0
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        mode = self.plan.pop(0) if self.plan else "ok"
        if mode == "500":
            self.refused_attempts += 1
            return web.Response(status=500, text="receiver failing on purpose")
        if mode == "hold":
            self.held_attempts += 1
            await self._released.wait()
            return web.Response(status=503, text="held, then refused on purpose")
        if mode == "slow":
            self.refused_attempts += 1
            await asyncio.sleep(self.slow_seconds)
            return web.Response(status=200)
        self.deliveries.append(Delivery(dict(request.headers), body))
        return web.Response(status=200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def release(self) -> None:
        """Answer the attempts held in flight, and hold no more."""
        self._released.set()

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def delivered_ids(self) -> list[str]:
        return [event["id"] for delivery in self.deliveries for event in delivery.events]

    async def wait_for(self, ids: set[str], timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not ids <= set(self.delivered_ids()):
            if asyncio.get_running_loop().time() > deadline:
                missing = ids - set(self.delivered_ids())
                raise AssertionError(f"{len(missing)} events never delivered: {sorted(missing)[:5]}")
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def started_receiver(plan: list[str] | None = None) -> AsyncIterator[Receiver]:
    """A receiver on a free loopback port for the length of a test (fixtures wrap this)."""
    started = Receiver(free_port(), plan=list(plan or ()))
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


def pull_event(created_at_ms: int) -> NewEvent:
    """A pull of alice/app:v1 as the recorder stores one, for tests that feed webhooks directly."""
    event_id = new_event_id()
    return NewEvent(event_id, created_at_ms, "pull", "alice/app", "v1", "", "alice", {"id": event_id, "action": "pull"})
