"""The services in-process, on a migrated store (once SQLite, once MariaDB), with the actors the
tests act as."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from gateway.auth.credentials import MIN_COST, PasswordHasher
from gateway.auth.permissions import Actor
from gateway.auth.policy import Rules
from gateway.auth.revocation import RevocationView
from gateway.registry.purge import Upstream
from gateway.services.context import Services
from gateway.store import Store

ADMIN = Actor("root", admin=True)
ALICE = Actor("alice")
BOB = Actor("bob")


@pytest.fixture
def services(store: Store) -> Services:
    return Services(store, PasswordHasher(cost=MIN_COST), RevocationView(), Rules(), allow_private_webhooks=False)


def _registry(delete_status: int) -> web.Application:
    """A registry with no tags that answers every manifest DELETE with `delete_status`."""
    app = web.Application()

    async def tags(request: web.Request) -> web.Response:
        return web.json_response({"tags": []})

    async def delete(request: web.Request) -> web.Response:
        return web.Response(status=delete_status)

    app.router.add_get("/v2/{name:.+}/tags/list", tags)
    app.router.add_delete("/v2/{name:.+}/manifests/{digest}", delete)
    return app


Registry = Callable[[int], Awaitable[Upstream]]


@pytest.fixture
async def upstream() -> AsyncIterator[Registry]:
    """`await upstream(status)`: a stand-in registry on loopback answering deletes with `status`."""
    runners: list[web.AppRunner] = []
    async with aiohttp.ClientSession() as session:

        async def start(status: int) -> Upstream:
            runner = web.AppRunner(_registry(status))
            runners.append(runner)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            port = runner.addresses[0][1]
            return Upstream(session, URL(f"http://127.0.0.1:{port}"), lambda repository: {})

        yield start
        for runner in runners:
            await runner.cleanup()
