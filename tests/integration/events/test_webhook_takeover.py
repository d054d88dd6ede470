"""A webhook delivery whose lease holder is killed (kill -9) while its POST is in flight goes on
within seconds: from the other instance on the same store, or from the same instance restarted
with its data dir. The delivery timeout here is a minute, so a lease sized after it (timeout +
15 s, as it was) would hold the batch back for 75 s, past every deadline below."""

from __future__ import annotations

import json
import signal
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest

from gateway.ops.holder import INSTANCE_FILE, holder_id
from gateway.store import open_store
from tests.integration.events.helpers import push, recorded_ids
from tests.support.processes import Gateway, free_port
from tests.support.receiver import Receiver
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow  # several gateways or databases per test: run first (tests/conftest.py)

HOOK = "audit"
LONG_ATTEMPTS = {
    "GATEWAY_WEBHOOK_DELIVERY_TIMEOUT": "60",
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_INITIAL": "0.2",
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_MAX": "1",
    "GATEWAY_WEBHOOK_DELIVERY_MAX_ATTEMPTS": "100",
}
TAKEOVER_DEADLINE = 40.0  # generous for a loaded machine; a lease of timeout + 15 s ran 75


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = Receiver(free_port(), plan=["hold", "hold"])
    await started.start()
    yield started
    await started.stop()


def hook_env(receiver: Receiver, database_url: str, **extra: str) -> dict[str, str]:
    hooks = [{"name": HOOK, "url": receiver.url, "secret": "takeover-secret"}]
    return {"GATEWAY_WEBHOOKS": json.dumps(hooks), "GATEWAY_DATABASE_URL": database_url, **LONG_ATTEMPTS, **extra}


async def lease_holder(database_url: str) -> str | None:
    store = await open_store(database_url)
    try:
        row = await store.fetch_one("SELECT leased_by FROM webhooks WHERE name = :name", {"name": HOOK})
    finally:
        await store.close()
    return row["leased_by"] if row else None


def instance_id(gateway: Gateway) -> str:
    return (gateway.workdir / "data" / INSTANCE_FILE).read_text().strip()


async def test_the_other_instance_delivers_the_batch_of_a_holder_killed_mid_post(
    make_gateway: Callable[..., Gateway], database_url: str, receiver: Receiver
) -> None:
    receiver.plan[:] = ["hold"]
    first = make_gateway(hook_env(receiver, database_url))
    shared_key = str(first.workdir / "data" / "secrets.key")  # instances on one store share it
    second = make_gateway(hook_env(receiver, database_url, GATEWAY_SECRETS_KEY_FILE=shared_key), add_users=False)
    await push(first, "alice/leased", "v1")
    expected = await recorded_ids(first, "push")
    assert len(expected) == 1
    assert await eventually(lambda: receiver.held_attempts, lambda n: n >= 1, timeout=60) == 1

    holder = await lease_holder(database_url)
    assert holder is not None
    by_instance = {instance_id(gateway): gateway for gateway in (first, second)}
    assert len(by_instance) == 2, "each instance has its own id"
    by_instance[holder.split("-")[0]].stop(signal.SIGKILL)

    await receiver.wait_for(expected, timeout=TAKEOVER_DEADLINE)
    counts = Counter(receiver.delivered_ids())
    assert {event: counts[event] for event in expected} == dict.fromkeys(expected, 1)


async def test_an_instance_restarted_after_kill_9_takes_its_own_lease_back(
    make_gateway: Callable[..., Gateway], database_url: str, receiver: Receiver
) -> None:
    gateway = make_gateway(hook_env(receiver, database_url))
    await push(gateway, "alice/restarted", "v1")
    expected = await recorded_ids(gateway, "push")
    await eventually(lambda: receiver.held_attempts, lambda n: n >= 1, timeout=60)
    before = await lease_holder(database_url)
    assert before == holder_id(instance_id(gateway), 0, socket.gethostname())

    gateway.stop(signal.SIGKILL)
    gateway.start()  # the same data dir, so the same instance id
    held = await eventually(lambda: receiver.held_attempts, lambda n: n >= 2, timeout=TAKEOVER_DEADLINE)
    assert held == 2, "the restarted instance took the lease and tried again"
    assert await lease_holder(database_url) == before, "under the holder id it had before"

    receiver.release()
    await receiver.wait_for(expected, timeout=TAKEOVER_DEADLINE)
