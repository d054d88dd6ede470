"""One delivery round of the real dispatcher on a real store, against a real receiver: how a
round batches events that settle while it runs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway.events import webhooks
from gateway.events.webhooks import BATCH, SETTLE_MS, RetryPolicy, WebhookDispatcher
from gateway.store import Store, Webhook
from tests.support.receiver import Receiver, pull_event, started_receiver

SETTLING = 600


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with started_receiver() as started:
        yield started


class SteppingClock:
    """The dispatcher's clock, a few milliseconds later at every reading: events keep settling
    while a round runs, as they do under steady load, whatever the machine's speed."""

    def __init__(self, start_ms: int, step_ms: int = 5) -> None:
        self.now_ms = start_ms
        self.step_ms = step_ms

    def __call__(self) -> int:
        self.now_ms += self.step_ms
        return self.now_ms


async def test_a_round_that_caught_up_leaves_events_settling_meanwhile_to_the_next(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round that went on reading would send each event that settled meanwhile in a POST of its own."""
    first = int(time.time() * 1000)
    await store.add_events([pull_event(first + i) for i in range(SETTLING)])
    clock = SteppingClock(first + SETTLE_MS + 40)  # 40 events settled, then a few more at every reading
    monkeypatch.setattr(webhooks, "_now_ms", clock)
    hook = Webhook("rounds", receiver.url, "secret", {}, (), "", "config", 0)
    await store.add_webhook(hook, int(time.time()))
    async with aiohttp.ClientSession() as session:
        dispatcher = WebhookDispatcher(store, session, RetryPolicy(3, 0.1, 1.0, 5.0), "test", allow_private_targets=True)
        await dispatcher.serve(hook)
        assert len(receiver.deliveries) == 1
        assert 40 <= len(receiver.deliveries[0].events) < BATCH

        clock.now_ms = first + SETTLE_MS + SETTLING  # everything has settled by the next round
        stored = await store.get_webhook(hook.name)
        assert stored is not None
        await dispatcher.serve(stored)
    sizes = [len(delivery.events) for delivery in receiver.deliveries[1:]]
    assert all(size == BATCH for size in sizes[:-1]) and 0 < sizes[-1] <= BATCH
    ids = receiver.delivered_ids()
    assert len(ids) == len(set(ids)) == SETTLING


async def test_a_disabled_webhook_is_sent_nothing_until_an_admin_changes_it(store: Store, receiver: Receiver) -> None:
    first = int(time.time() * 1000) - SETTLE_MS - 1000
    await store.add_events([pull_event(first + i) for i in range(3)])
    hook = Webhook("imported", receiver.url, "secret", {}, (), "", "import", 0, disabled_reason="Portus sent it GET requests")
    await store.add_webhook(hook, int(time.time()))
    async with aiohttp.ClientSession() as session:
        dispatcher = WebhookDispatcher(store, session, RetryPolicy(3, 0.1, 1.0, 5.0), "test", allow_private_targets=True)
        stored = await store.get_webhook(hook.name)
        assert stored is not None and stored.disabled_reason == "Portus sent it GET requests"
        await dispatcher.serve(stored)
        assert receiver.deliveries == []
        assert await store.update_webhook(stored)  # what an admin's change through the API or the UI does
        enabled = await store.get_webhook(hook.name)
        assert enabled is not None and enabled.disabled_reason is None
        await dispatcher.serve(enabled)
    assert len(receiver.delivered_ids()) == 3
