"""The webhook delivery lease on a real store (SQLite and MariaDB): a heartbeat keeps it, an
extension never takes back a lease another instance took or one released, and work under a
lease that is lost stops."""

from __future__ import annotations

import asyncio

import pytest

from gateway.events.lease import LEASE_MS, Lease, LeaseLost, now_ms
from gateway.store import Store, Webhook

HOOK = Webhook("ci", "http://127.0.0.1:9/hook", "a-secret", {}, (), "", "api", 0)


@pytest.fixture
async def hooked(store: Store) -> Store:
    await store.add_webhook(HOOK, 1)
    return store


async def test_only_the_holder_extends_its_lease(hooked: Store) -> None:
    assert await hooked.lease_webhook("ci", "a", 1_000, 5_000)
    assert await hooked.extend_webhook_lease("ci", "a", 6_000)
    assert not await hooked.extend_webhook_lease("ci", "b", 7_000)
    assert await hooked.lease_webhook("ci", "b", 6_001, 10_000), "a lease that ran out is taken over"
    assert not await hooked.extend_webhook_lease("ci", "a", 11_000), "the old holder has lost it"


async def test_an_extension_never_takes_a_released_lease_back(hooked: Store) -> None:
    assert await hooked.lease_webhook("ci", "a", 1_000, 5_000)
    await hooked.release_webhook("ci", "a")
    assert not await hooked.extend_webhook_lease("ci", "a", 6_000)
    await hooked.delete_webhook("ci")
    assert not await hooked.extend_webhook_lease("ci", "a", 6_000)


async def test_a_holder_takes_its_own_live_lease_back(hooked: Store) -> None:
    """What a restarted instance does, under the holder id it had."""
    now = now_ms()
    assert await Lease.take(hooked, "ci", "instance/0", now) is not None
    assert await Lease.take(hooked, "ci", "other/0", now) is None
    assert await Lease.take(hooked, "ci", "instance/0", now) is not None


async def test_work_under_a_lease_another_instance_took_is_cancelled(hooked: Store) -> None:
    lease = await Lease.take(hooked, "ci", "a", now_ms())
    assert lease is not None
    async with lease.kept():
        assert await lease.while_held(asyncio.sleep(0, "done")) == "done"
        assert await hooked.lease_webhook("ci", "b", now_ms() + LEASE_MS + 1, now_ms() + 60_000)  # "a" looked dead
        with pytest.raises(LeaseLost):
            async with asyncio.timeout(30):
                await lease.while_held(asyncio.sleep(60))  # a POST in flight, a backoff sleep
    assert lease.lost
    with pytest.raises(LeaseLost):
        lease.check()


async def test_a_heartbeat_keeps_the_lease_past_its_length(hooked: Store) -> None:
    lease = await Lease.take(hooked, "ci", "a", now_ms())
    assert lease is not None
    async with lease.kept():
        ends = now_ms() + LEASE_MS + 1_000
        while now_ms() < ends:
            assert await Lease.take(hooked, "ci", "b", now_ms()) is None
            await asyncio.sleep(0.5)
    assert not lease.lost
