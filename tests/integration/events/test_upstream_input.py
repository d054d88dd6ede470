"""POST /v2/webhooks/events with hostile or large notifications: a JSON 400 or 413 for what cannot
be read, events that cannot be stored skipped, never a 500; on both stores."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from gateway.store import open_store
from tests.integration.api.conftest import no_traceback_since
from tests.support.processes import Gateway

pytestmark = pytest.mark.slow  # several gateways or databases per test: run first (tests/conftest.py)

SECRET = "upstream-notification-secret"
AUTH = {"Authorization": f"Token {SECRET}"}


def notification_event(**target: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "timestamp": "2026-11-26T10:00:00.123456789Z",
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "c" * 64, "size": 321,
            "repository": "direct/app", "tag": "v1", **target,
        },
        "actor": {"name": "ci-bot"},
    }


@pytest.fixture
def gateway(make_gateway: Callable[..., Gateway], database_url: str) -> Gateway:
    return make_gateway({"GATEWAY_EVENTS_UPSTREAM_SECRET": SECRET, "GATEWAY_DATABASE_URL": database_url})


async def _post(session: aiohttp.ClientSession, gateway: Gateway, data: Any, **headers: str) -> tuple[int, Any]:
    async with session.post(f"{gateway.url}/v2/webhooks/events", data=data, headers={**AUTH, **headers}) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"events": [' + b"[" * 100_000 + b"]}", b'{"events": [{"target": ' + b'{"a":' * 50_000 + b"}"],
    ids=["deep", "deep-event", "deep-object"],
)
async def test_a_notification_nested_too_deeply_is_a_json_400(session: aiohttp.ClientSession, gateway: Gateway, body: bytes) -> None:
    status, answer = await _post(session, gateway, body)
    assert status == 400
    assert answer["error"]["code"] == "BAD_REQUEST" and "deep" in answer["error"]["message"]
    no_traceback_since(gateway, 0)


async def test_events_that_cannot_be_stored_are_skipped_and_the_rest_recorded(
    session: aiohttp.ClientSession, gateway: Gateway, database_url: str
) -> None:
    good = notification_event()
    unstorable = [
        notification_event(size=10**30),
        notification_event(size=-1),
        notification_event(size=True),
        {**notification_event(), "id": "x" * 65},
        notification_event(repository="a" * 256),
        notification_event(tag="t" * 129),
        notification_event(digest="sha256:" + "c" * 300),
        {**notification_event(), "actor": {"name": "n" * 65}},
        {**notification_event(), "actor": {"name": "\ud800"}},
        notification_event(url="\udfff"),
        {**notification_event(), "timestamp": "0001-01-01T00:00:00+01:00"},
        {**notification_event(), "timestamp": "9999-12-31T23:59:59-01:00"},
    ]
    body = json.dumps({"events": [good, *unstorable]}).encode()
    status, answer = await _post(session, gateway, body)
    assert status == 200, answer
    assert answer == {"recorded": 1, "skipped": len(unstorable), "duplicates": 0}
    store = await open_store(database_url)
    try:
        assert [e.id for e in await store.list_events(repository="direct/app")] == [good["id"]]
    finally:
        await store.close()
    no_traceback_since(gateway, 0)


async def test_a_large_notification_sent_in_pieces_is_read_whole(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    events = [notification_event(tag=f"t{index}", repository=f"direct/app{index % 7}") for index in range(1500)]
    body = json.dumps({"events": events}).encode()
    assert 400_000 < len(body) < 4 * 1024 * 1024

    async def pieces() -> AsyncIterator[bytes]:
        for offset in range(0, len(body), 32 * 1024):
            yield body[offset : offset + 32 * 1024]
            await asyncio.sleep(0.01)

    status, answer = await _post(session, gateway, pieces())
    assert status == 200, answer
    assert answer == {"recorded": 1500, "skipped": 0, "duplicates": 0}


async def test_a_notification_over_the_limit_without_a_length_is_413(session: aiohttp.ClientSession, gateway: Gateway) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"events": ["'
        for _ in range(5):
            yield b"x" * (1024 * 1024)
        yield b'"]}'

    status, answer = await _post(session, gateway, chunks())
    assert status == 413 and answer["error"]["code"] == "TOO_LARGE"
    no_traceback_since(gateway, 0)
