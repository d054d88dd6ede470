"""A webhook's recent deliveries: the real dispatcher on a real store (both dialects) against a
real receiver records each envelope's outcome, success or failure; one delivery is sent again
through the service; the list stays bounded per webhook and pages newest first."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway.events.webhooks import KEPT_DELIVERIES, SETTLE_MS, RetryPolicy, WebhookDispatcher
from gateway.services import webhooks
from gateway.services.context import Services
from gateway.services.errors import Forbidden, NotFound
from gateway.store import Store, Webhook, WebhookDelivery
from tests.integration.services.conftest import ADMIN, ALICE
from tests.support.receiver import Receiver, pull_event, started_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with started_receiver() as started:
        yield started


async def _settled_events(store: Store, count: int) -> None:
    first = int(time.time() * 1000) - SETTLE_MS - 1000
    await store.add_events([pull_event(first + i) for i in range(count)])


async def test_each_envelope_is_recorded_and_one_is_sent_again(services: Services, receiver: Receiver) -> None:
    store = services.store
    hook = Webhook("deliveries", receiver.url, "secret", {}, (), "", "api", 0)
    await store.add_webhook(hook, int(time.time()))
    async with aiohttp.ClientSession() as session:
        dispatcher = WebhookDispatcher(store, session, RetryPolicy(2, 0.01, 0.01, 5.0), "test", allow_private_targets=True)
        await _settled_events(store, 3)
        await dispatcher.serve(hook)  # delivered at once
        receiver.plan = ["500", "500"]
        await _settled_events(store, 2)
        await dispatcher.serve(await store.get_webhook(hook.name) or hook)  # refused twice: failed

        failed, delivered = await webhooks.list_deliveries(services, ADMIN, hook.name)
        assert (delivered.status_code, delivered.error, delivered.attempts, delivered.redelivery) == (200, None, 1, False)
        assert delivered.seqs == (1, 2, 3) and delivered.succeeded
        assert (failed.status_code, failed.error, failed.attempts, failed.seqs) == (500, "HTTP 500", 2, (4, 5))
        assert failed.id > delivered.id

        with pytest.raises(Forbidden):
            await webhooks.redeliver_one(services, ALICE, hook.name, delivered.id)
        with pytest.raises(NotFound):
            await webhooks.redeliver_one(services, ADMIN, hook.name, failed.id + 1)
        assert await webhooks.redeliver_one(services, ADMIN, hook.name, delivered.id) == 3
        sent_before = len(receiver.deliveries)
        await dispatcher.serve(await store.get_webhook(hook.name) or hook)
    assert [len(d.events) for d in receiver.deliveries[sent_before:]] == [3]  # that delivery's events only
    again = (await webhooks.list_deliveries(services, ADMIN, hook.name, limit=1))[0]
    assert (again.seqs, again.status_code, again.redelivery) == ((1, 2, 3), 200, True)
    assert [d.id for d in await webhooks.list_deliveries(services, ADMIN, hook.name, before_id=again.id)] == [failed.id, delivered.id]


async def test_the_list_keeps_the_newest_per_webhook_and_pages_newest_first(store: Store) -> None:
    for name in ("busy", "quiet"):
        await store.add_webhook(Webhook(name, "https://hooks.example.com/in", "secret", {}, (), "", "api", 0), 1)
    await store.record_webhook_delivery(WebhookDelivery("quiet", (1,), 200, None, 1, False, 1), KEPT_DELIVERIES)
    for seq in range(1, KEPT_DELIVERIES + 6):
        await store.record_webhook_delivery(
            WebhookDelivery("busy", (seq,), None, "ClientConnectorError", 3, False, seq), KEPT_DELIVERIES
        )
    kept = await store.webhook_deliveries("busy", limit=100)
    assert [d.seqs[0] for d in kept] == list(range(KEPT_DELIVERIES + 5, 5, -1))
    assert len(await store.webhook_deliveries("quiet")) == 1  # another webhook's are not trimmed
    page = await store.webhook_deliveries("busy", before_id=kept[9].id, limit=3)
    assert page == kept[10:13]
    await store.delete_webhook("busy")
    assert await store.webhook_deliveries("busy") == []
