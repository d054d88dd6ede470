"""What the webhook tests do to a real gateway: push an image, read the events it recorded."""

from __future__ import annotations

import aiohttp

from gateway.store import open_store
from tests.support.client import bearer
from tests.support.images import push_image
from tests.support.processes import Gateway


def store_url(gateway: Gateway) -> str:
    return gateway.env.get("GATEWAY_DATABASE_URL") or f"sqlite:///{gateway.workdir / 'data' / 'gateway.db'}"


async def recorded_ids(gateway: Gateway, action: str | None = None) -> set[str]:
    store = await open_store(store_url(gateway))
    try:
        return {row.id for row in await store.list_events(action=action, limit=100_000)}
    finally:
        await store.close()


async def push(gateway: Gateway, repo: str, tag: str) -> str:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repo}:pull,push")
        return await push_image(session, gateway.url, repo, tag, headers, seed=tag)
