"""Two gateways on one store (SQLite and MariaDB): a garbage collection's window and a namespace
quota written elsewhere (the collector's instance, an admin's CLI) are obeyed by the other
gateway although its gates keep what they read (gateway/registry/gate_reads.py): each phase of
the window, then its end, and a quota set and lifted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway.store import Store, open_store
from gateway.store.maintenance import COLLECTING, DRAINING, GC
from tests.support.client import bearer
from tests.support.processes import Gateway
from tests.support.waiting import eventually_async

# Keeps a broken gateway from hanging the test; the store-level promise (seen at the next
# version poll, every 0.25 s) is tested in test_gate_reads.py.
DEADLINE = 20.0
REPOSITORY = "alice/app"


@pytest.fixture
async def elsewhere(twins: tuple[Gateway, Gateway], database_url: str) -> AsyncIterator[Store]:
    """The shared store as a third process writes to it."""
    store = await open_store(database_url)
    yield store
    await store.close()


async def _post(session: aiohttp.ClientSession, gateway: Gateway, headers: dict[str, str]) -> tuple[int, str]:
    async with session.post(f"{gateway.url}/v2/{REPOSITORY}/blobs/uploads/", headers=headers) as response:
        return response.status, response.headers.get("Location", "")


async def _patch(session: aiohttp.ClientSession, gateway: Gateway, location: str, headers: dict[str, str]) -> int:
    url = location if "://" in location else gateway.url + location
    chunk_headers = {**headers, "Content-Type": "application/octet-stream", "Content-Range": "0-2"}
    async with session.patch(url, data=b"abc", headers=chunk_headers) as response:
        return response.status


async def test_a_window_opened_elsewhere_is_obeyed_phase_by_phase(
    twins: tuple[Gateway, Gateway], elsewhere: Store, session: aiohttp.ClientSession
) -> None:
    _, second = twins
    headers = await bearer(session, second.url, second.host, "alice", f"repository:{REPOSITORY}:pull,push")
    status, location = await _post(session, second, headers)
    assert status == 202, "no window: the gate read the store and keeps what it read"

    assert await elsewhere.take_maintenance(
        GC, "run-1", "elsewhere/1", "admin", dry_run=False, write_window=True, phase=DRAINING, lease_seconds=60
    )
    refused = await eventually_async(lambda: _post(session, second, headers), lambda a: a[0] == 503, timeout=DEADLINE)
    assert refused[0] == 503, "the other instance still opened uploads in the window"
    assert await _patch(session, second, location, headers) == 202, "draining: an open upload may go on"

    assert await elsewhere.renew_maintenance(GC, "run-1", COLLECTING, "", 60, write_window=True)
    chunk = await eventually_async(
        lambda: _patch(session, second, location, headers), lambda s: s == 503, timeout=DEADLINE
    )
    assert chunk == 503, "collecting: no write may reach the registry"

    await elsewhere.finish_maintenance(GC, "run-1", "done", "deleted nothing")
    reopened = await eventually_async(lambda: _post(session, second, headers), lambda a: a[0] == 202, timeout=DEADLINE)
    assert reopened[0] == 202


async def test_a_quota_set_elsewhere_is_obeyed_then_lifted(
    twins: tuple[Gateway, Gateway], elsewhere: Store, session: aiohttp.ClientSession
) -> None:
    _, second = twins
    headers = await bearer(session, second.url, second.host, "alice", f"repository:{REPOSITORY}:pull,push")
    assert (await _post(session, second, headers))[0] == 202

    await elsewhere.set_namespace_quota("alice", 0)  # used up: it holds 0 of 0 bytes
    refused = await eventually_async(lambda: _post(session, second, headers), lambda a: a[0] == 403, timeout=DEADLINE)
    assert refused[0] == 403, "the other instance still opened uploads into a namespace at its quota"

    await elsewhere.set_namespace_quota("alice", None)
    lifted = await eventually_async(lambda: _post(session, second, headers), lambda a: a[0] == 202, timeout=DEADLINE)
    assert lifted[0] == 202
