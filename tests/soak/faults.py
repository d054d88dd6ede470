"""The faults, one after another at fixed points of the run: `kill -9` of one gateway instance (the
one holding the webhook's delivery lease) and its restart on the
same data dir, a restart of MariaDB, a restart of the registry."""

from __future__ import annotations

import asyncio
import time

from tests.soak.records import Fault, Journal
from tests.soak.stack import Stack

DOWN_SECONDS = 1.0  # how long a broken component stays down before it is started again
AT = {"kill": 0.15, "mariadb": 0.40, "registry": 0.65}  # shares of the load's duration
LEASE_WATCH_SECONDS = 5.0


async def _kill_a_gateway(stack: Stack, journal: Journal) -> None:
    """The receiver holds the next delivery past the sender's timeout, so an instance is caught
    holding the delivery lease in the middle of a round (a round is otherwise a few milliseconds
    long): that instance is the one killed."""
    refused = stack.receiver.refused_attempts
    stack.receiver.plan.append("slow")
    deadline = time.monotonic() + LEASE_WATCH_SECONDS
    while stack.receiver.refused_attempts == refused and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    if stack.receiver.refused_attempts == refused:  # no delivery came: the plan must not linger
        stack.receiver.plan.clear()
    victim = await stack.lease_holder(LEASE_WATCH_SECONDS)
    name = victim or "a"
    fault = Fault(f"kill -9 gateway {name}" + (" (lease holder)" if victim else ""), name, time.time())
    journal.faults.append(fault)
    await stack.kill_gateway(name)
    await asyncio.sleep(DOWN_SECONDS)
    await stack.start_gateway(name)
    fault.end = time.time()
    await stack.learn_instance_id(name)


async def _restart(stack: Stack, journal: Journal, what: str) -> None:
    fault = Fault(f"restart {what}", None, time.time())
    journal.faults.append(fault)
    await (stack.stop_mariadb() if what == "MariaDB" else stack.stop_registry())
    await asyncio.sleep(DOWN_SECONDS)
    await (stack.start_mariadb() if what == "MariaDB" else stack.start_registry())
    fault.end = time.time()


async def inject(stack: Stack, journal: Journal, began: float, duration: float) -> None:
    """Each fault at its time; its end is when the restarted component answers again (the start
    helpers wait for that, with deadlines of their own)."""
    await asyncio.sleep(max(0.0, began + AT["kill"] * duration - time.time()))
    await _kill_a_gateway(stack, journal)
    await asyncio.sleep(max(0.0, began + AT["mariadb"] * duration - time.time()))
    await _restart(stack, journal, "MariaDB")
    await asyncio.sleep(max(0.0, began + AT["registry"] * duration - time.time()))
    await _restart(stack, journal, "registry")
