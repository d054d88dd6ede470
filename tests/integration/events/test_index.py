"""The repository index built from events: the filtered, paged catalog; upstream notifications;
retention of the log."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

import aiohttp

from gateway.store import open_store
from tests.support.client import bearer
from tests.support.images import push_image
from tests.support.processes import Gateway

UPSTREAM_SECRET = "upstream-notification-secret"


async def catalog_pages(session: aiohttp.ClientSession, gateway: Gateway, headers: dict[str, str], n: int) -> list[list[str]]:
    pages: list[list[str]] = []
    url: str | None = f"{gateway.url}/v2/_catalog?n={n}"
    while url is not None:
        async with session.get(url, headers=headers) as response:
            assert response.status == 200, await response.text()
            pages.append((await response.json())["repositories"])
            link = response.headers.get("Link")
        url = f"{gateway.url}{link.split('>')[0].lstrip('<')}" if link else None
        assert len(pages) < 20
    return pages


async def test_catalog_lists_only_what_the_caller_may_pull_in_pages(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway()
    async with aiohttp.ClientSession() as session:
        for user, repos in (("alice", ["alice/a", "alice/b", "alice/c"]), ("bob", ["bob/x"])):
            for repo in repos:
                headers = await bearer(session, gateway.url, gateway.host, user, f"repository:{repo}:pull,push")
                await push_image(session, gateway.url, repo, "v1", headers, seed=repo)
        alice = await bearer(session, gateway.url, gateway.host, "alice")
        assert await catalog_pages(session, gateway, alice, 2) == [["alice/a", "alice/b"], ["alice/c"]]
        assert await catalog_pages(session, gateway, alice, 3) == [["alice/a", "alice/b", "alice/c"]]  # no empty page after
        bob = await bearer(session, gateway.url, gateway.host, "bob")
        assert await catalog_pages(session, gateway, bob, 100) == [["bob/x"]]
        async with session.get(f"{gateway.url}/v2/_catalog?n=0", headers=alice) as response:
            assert (await response.json()) == {"repositories": []}
        async with session.get(f"{gateway.url}/v2/_catalog?n=abc", headers=alice) as response:
            assert response.status == 400
            assert (await response.json())["errors"][0]["code"] == "PAGINATION_NUMBER_INVALID"
        async with session.get(f"{gateway.url}/v2/_catalog?last=alice/a", headers=alice) as response:
            assert (await response.json())["repositories"] == ["alice/b", "alice/c"]
        async with session.get(f"{gateway.url}/v2/_catalog") as response:
            assert response.status == 401


async def test_upstream_notifications_are_recorded_once_and_need_the_secret(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway({"GATEWAY_EVENTS_UPSTREAM_SECRET": UPSTREAM_SECRET})
    event_id = str(uuid.uuid4())
    digest = "sha256:" + "c" * 64
    notification = {
        "events": [
            {
                "id": event_id,
                "timestamp": "2026-11-26T10:00:00.123456789Z",
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": 321,
                    "repository": "direct/app", "url": "http://registry/v2/direct/app/manifests/" + digest, "tag": "v9",
                },
                "request": {"id": "r1", "addr": "10.0.0.9", "host": "registry", "method": "PUT", "useragent": "docker"},
                "actor": {"name": "ci-bot"},
                "source": {"addr": "registry:5000", "instanceID": "upstream-1"},
            },
            {"id": "not-an-event", "action": "explode"},
        ]
    }
    url = f"{gateway.url}/v2/webhooks/events"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=notification) as response:
            assert response.status == 401
        async with session.post(url, json=notification, headers={"Authorization": "Token wrong-secret-value"}) as response:
            assert response.status == 401
        auth = {"Authorization": f"Token {UPSTREAM_SECRET}"}
        async with session.post(url, json=notification, headers=auth) as response:
            assert response.status == 200
            assert await response.json() == {"recorded": 1, "skipped": 1, "duplicates": 0}
        async with session.post(url, json=notification, headers=auth) as response:
            assert (await response.json())["duplicates"] == 1
        async with session.post(url, data=b"{not json", headers=auth) as response:
            assert response.status == 400
    store = await open_store(f"sqlite:///{gateway.workdir / 'data' / 'gateway.db'}")
    try:
        events = await store.list_events(repository="direct/app")
        tags = await store.list_tags("direct/app")
    finally:
        await store.close()
    assert [(e.id, e.body["actor"]["name"], e.body["target"]["tag"]) for e in events] == [(event_id, "ci-bot", "v9")]
    assert [(t.tag, t.digest) for t in tags] == [("v9", digest)]


async def test_retention_keeps_the_log_bounded(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway({"GATEWAY_EVENTS_RETENTION_COUNT": "3"})
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/churn:pull,push")
        for index in range(6):
            await push_image(session, gateway.url, "alice/churn", f"t{index}", headers, seed=str(index))
    store = await open_store(f"sqlite:///{gateway.workdir / 'data' / 'gateway.db'}")
    try:
        for _ in range(40):
            events = await store.list_events(limit=100)
            if len(events) <= 3:
                break
            await asyncio.sleep(0.5)
    finally:
        await store.close()
    assert [json.dumps(e.body["target"]["tag"]) for e in events] == ['"t5"', '"t4"', '"t3"'], "the newest three remain"
