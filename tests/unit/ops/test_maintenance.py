"""The schedule loop of maintenance runs: it starts a run at each slot after the process
started (not at once for a slot already past), and goes on after a slot another instance took."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.ops import maintenance
from gateway.ops.schedule import Schedule
from gateway.services.errors import Conflict


async def test_each_slot_after_the_start_is_tried_once_and_a_taken_slot_is_no_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance, "SCHEDULE_POLL_SECONDS", 0.02)
    started = int(time.time())
    slots: list[int] = []
    two = asyncio.Event()

    async def start(slot: int) -> None:
        slots.append(slot)
        if len(slots) == 2:
            two.set()
        raise Conflict("taken by another instance")

    loop = asyncio.create_task(maintenance.follow_schedule(Schedule(1, 0, "every second"), "test", start))
    try:
        await asyncio.wait_for(two.wait(), 10)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert slots[0] > started and slots[1] == slots[0] + 1, slots
