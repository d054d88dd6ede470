"""One delivery round of the real dispatcher on a real store, against a real receiver: how a
round batches events that settle while it runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway.events.model import new_event_id
from gateway.events.webhooks import BATCH, SETTLE_MS, RetryPolicy, WebhookDispatcher
from gateway.store import Store, open_store
from gateway.store.events import NewEvent, Webhook
from tests.support.processes import free_port
from tests.support.receiver import Receiver

SETTLING = 600  # events that settle one a millisecond while the round runs


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url)
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = Receiver(free_port())
    await started.start()
    yield started
    await started.stop()


def pull(created_at_ms: int) -> NewEvent:
    event_id = new_event_id()
    return NewEvent(event_id, created_at_ms, "pull", "alice/app", "v1", "", "alice", {"id": event_id, "action": "pull"})


async def test_a_round_that_caught_up_leaves_events_settling_meanwhile_to_the_next(
    store: Store, receiver: Receiver
) -> None:
    """Events arrive steadily under load, so one settles every moment; a round that went on
    reading would send each in a POST of its own."""
    now_ms = int(time.time() * 1000)
    first = now_ms - SETTLE_MS - 40  # 40 events settled already, the rest one a millisecond from now on
    await store.add_events([pull(first + i) for i in range(SETTLING)])
    hook = Webhook("rounds", receiver.url, "secret", {}, (), "", "config", 0)
    await store.add_webhook(hook, int(time.time()))
    async with aiohttp.ClientSession() as session:
        dispatcher = WebhookDispatcher(store, session, RetryPolicy(3, 0.1, 1.0, 5.0), "test")
        await dispatcher.serve(hook)
        assert len(receiver.deliveries) == 1
        assert 40 <= len(receiver.deliveries[0].events) < BATCH

        await asyncio.sleep(SETTLING / 1000 + 0.1)
        stored = await store.get_webhook(hook.name)
        assert stored is not None
        await dispatcher.serve(stored)
    sizes = [len(delivery.events) for delivery in receiver.deliveries[1:]]
    assert all(size == BATCH for size in sizes[:-1]) and 0 < sizes[-1] <= BATCH
    ids = receiver.delivered_ids()
    assert len(ids) == len(set(ids)) == SETTLING
