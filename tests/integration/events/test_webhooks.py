"""Durable events and webhooks against real gateways, a real registry and a receiver that fails."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
from collections import Counter
from collections.abc import Callable

import aiohttp
import pytest

from gateway.store import open_store
from tests.integration.events.helpers import push, recorded_ids, store_url
from tests.support.client import bearer
from tests.support.processes import Gateway, free_port, mariadb_database
from tests.support.receiver import Receiver
from tests.support.waiting import eventually, eventually_async

pytestmark = pytest.mark.slow  # several gateways or databases per test: run first (tests/conftest.py)

SECRET = "webhook-shared-secret"
FAST_RETRIES = {
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_INITIAL": "0.2",
    "GATEWAY_WEBHOOK_DELIVERY_BACKOFF_MAX": "1",
    "GATEWAY_WEBHOOK_DELIVERY_MAX_ATTEMPTS": "100",
    "GATEWAY_WEBHOOK_DELIVERY_TIMEOUT": "1",
}


def webhook_env(receiver: Receiver, **extra: str) -> dict[str, str]:
    hooks = [{"name": "audit", "url": receiver.url, "secret": SECRET}]
    return {"GATEWAY_WEBHOOKS": json.dumps(hooks), **FAST_RETRIES, **extra}


async def failures_counted(gateway: Gateway) -> float:
    async with aiohttp.ClientSession() as session, session.get(f"{gateway.url}/metrics") as response:
        metrics = await response.text()
    prefix = 'gateway_webhook_failures_total{endpoint="audit"} '
    return sum(float(line[len(prefix):]) for line in metrics.splitlines() if line.startswith(prefix))


async def deliver_a_sentinel(gateway: Gateway, receiver: Receiver, repo: str) -> None:
    """Push once more and wait for that event: deliveries follow the event sequence, so every event
    recorded before it has then been through a delivery round (what a fixed sleep only hoped)."""
    before = await recorded_ids(gateway, "push")
    await push(gateway, repo, "sentinel")
    sentinel = await recorded_ids(gateway, "push") - before
    assert len(sentinel) == 1
    await receiver.wait_for(sentinel, timeout=60)


async def test_every_event_reaches_a_failing_receiver_across_a_gateway_restart(make_gateway: Callable[..., Gateway]) -> None:
    receiver = Receiver(free_port(), plan=["500", "500", "slow", "slow"])
    await receiver.start()
    gateway = make_gateway(webhook_env(receiver))
    try:
        await push(gateway, "alice/hooked", "one")
        await eventually(lambda: receiver.refused_attempts, lambda n: n >= 4, timeout=60)
        await receiver.stop()  # connection refused from here on
        await push(gateway, "alice/hooked", "two")
        gateway.stop()
        gateway.start()
        await push(gateway, "alice/hooked", "three")
        failed = await eventually_async(lambda: failures_counted(gateway), lambda n: n > 0, timeout=60)
        await receiver.start()
        expected = await recorded_ids(gateway, "push")
        assert len(expected) == 3
        await receiver.wait_for(expected, timeout=60)
    finally:
        await receiver.stop()
    assert receiver.refused_attempts == 4, "the injected failures were exercised"
    assert failed > 0, "failed attempts after the restart are counted"
    for delivery in receiver.deliveries:
        assert delivery.headers["Content-Type"] == "application/vnd.docker.distribution.events.v2+json"
        expected_signature = "sha256=" + hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(delivery.headers["X-Gateway-Signature"], expected_signature)
        for event in delivery.events:
            assert event["action"] == "push"
            assert event["actor"]["name"] == "alice"
            assert event["target"]["repository"] == "alice/hooked"
            assert event["target"]["tag"] in {"one", "two", "three"}
            assert event["target"]["digest"].startswith("sha256:")
            assert event["request"]["method"] == "PUT"
            assert event["source"]["instanceID"]


async def test_push_event_survives_kill_9_right_after_the_push(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway()
    digest = await push(gateway, "alice/killed", "v1")
    gateway.stop(signal.SIGKILL)
    gateway.start()
    store = await open_store(store_url(gateway))
    try:
        events = await store.list_events(repository="alice/killed", action="push")
        tags = await store.list_tags("alice/killed")
    finally:
        await store.close()
    assert [e.body["target"]["digest"] for e in events] == [digest]
    assert [(t.tag, t.digest) for t in tags] == [("v1", digest)]


async def test_two_gateways_on_one_mariadb_deliver_each_event_once(make_gateway: Callable[..., Gateway]) -> None:
    receiver = Receiver(free_port())
    await receiver.start()
    url, drop = mariadb_database()
    first = make_gateway(webhook_env(receiver, GATEWAY_DATABASE_URL=url))
    shared_key = str(first.workdir / "data" / "secrets.key")  # instances on one database share it
    second = make_gateway(webhook_env(receiver, GATEWAY_DATABASE_URL=url, GATEWAY_SECRETS_KEY_FILE=shared_key), add_users=False)
    try:
        for index in range(4):
            await push(first, "alice/shared", f"a{index}")
            await push(second, "alice/shared", f"b{index}")
        expected = await recorded_ids(first, "push")
        assert len(expected) == 8
        await receiver.wait_for(expected, timeout=60)
        await deliver_a_sentinel(first, receiver, "alice/shared")
        await deliver_a_sentinel(second, receiver, "alice/shared")
        counts = Counter(receiver.delivered_ids())
        assert {i: n for i, n in counts.items() if n > 1} == {}
        sources = {e["source"]["instanceID"] for d in receiver.deliveries for e in d.events}
        assert len(sources) == 2, "both instances recorded events"
    finally:
        await receiver.stop()
        first.stop()
        second.stop()
        drop()


async def test_filters_on_actions_and_repository_pattern(make_gateway: Callable[..., Gateway]) -> None:
    receiver = Receiver(free_port())
    await receiver.start()
    hooks = [{"name": "deletes", "url": receiver.url, "secret": SECRET, "actions": ["delete"], "repository_pattern": "alice/keep*"}]
    gateway = make_gateway({"GATEWAY_WEBHOOKS": json.dumps(hooks), **FAST_RETRIES})
    try:
        kept = await push(gateway, "alice/keeper", "v1")
        other = await push(gateway, "alice/other", "v1")
        async with aiohttp.ClientSession() as session:
            for repo, digest in (("alice/other", other), ("alice/keeper", kept)):  # the one delivered comes last
                headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:delete")
                async with session.delete(f"{gateway.url}/v2/{repo}/manifests/{digest}", headers=headers) as response:
                    assert response.status == 202
        deletes = await recorded_ids(gateway, "delete")
        assert len(deletes) == 2
        await eventually(lambda: receiver.deliveries, bool, timeout=60)  # the last event recorded: all others were judged
    finally:
        await receiver.stop()
    delivered = [e for d in receiver.deliveries for e in d.events]
    assert [(e["action"], e["target"]["repository"], e["target"]["digest"]) for e in delivered] == [("delete", "alice/keeper", kept)]


async def test_every_pull_of_a_busy_two_worker_gateway_is_delivered_once(make_gateway: Callable[..., Gateway]) -> None:
    """Each worker writes its pulls in batches; the batches commit out of created_at order, and
    none of their events may be skipped by the delivery cursor."""
    receiver = Receiver(free_port())
    await receiver.start()
    gateway = make_gateway(webhook_env(receiver, GATEWAY_SERVER_WORKERS="2"))
    try:
        await push(gateway, "alice/busy", "v1")
        url = f"{gateway.url}/v2/alice/busy/manifests/v1"
        clients, pulls_each = 16, 40
        async with aiohttp.ClientSession() as session:
            headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/busy:pull")
        headers["Accept"] = "application/vnd.oci.image.manifest.v1+json"

        async def client() -> int:
            count = 0
            async with aiohttp.ClientSession() as own:  # own connections: spread over both workers
                for _ in range(pulls_each):
                    async with own.get(url, headers=headers) as response:
                        await response.read()
                        count += response.status == 200
            return count

        pulled = sum(await asyncio.gather(*(client() for _ in range(clients))))
        assert pulled == clients * pulls_each
        expected = await eventually_async(lambda: recorded_ids(gateway, "pull"), lambda ids: len(ids) >= pulled, timeout=60)
        assert len(expected) == pulled  # pulls are written in batches, about once a second
        await receiver.wait_for(expected, timeout=60)
        await deliver_a_sentinel(gateway, receiver, "alice/busy")
        delivered = [i for i in receiver.delivered_ids() if i in expected]
        assert len(delivered) == len(set(delivered)) == pulled, "each pull delivered exactly once"
    finally:
        await receiver.stop()
