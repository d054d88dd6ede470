"""The login throttle through the real token endpoint: failures count per (user, client
address) within `logins.failure_window`; the wait ends when the window has passed, failures
from one address do not slow the same user from another, and a success clears the count."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from tests.integration.api.conftest import no_traceback_since
from tests.support.client import USERS
from tests.support.processes import Gateway
from tests.support.waiting import eventually

USER = "alice"
RIGHT, WRONG = USERS[USER], "not-alices-password"


def _client(address: str) -> aiohttp.ClientSession:
    """A client whose connections come from `address` (any of 127.0.0.0/8 reaches 127.0.0.1)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), force_close=True))


@pytest.fixture
async def first() -> AsyncIterator[aiohttp.ClientSession]:
    async with _client("127.0.0.1") as client:
        yield client


@pytest.fixture
async def second() -> AsyncIterator[aiohttp.ClientSession]:
    async with _client("127.0.0.2") as client:
        yield client


async def _login(client: aiohttp.ClientSession, gateway: Gateway, password: str) -> tuple[int, dict[str, str]]:
    params = {"service": gateway.host, "scope": f"repository:{USER}/app:pull"}
    headers = {"Authorization": aiohttp.encode_basic_auth(USER, password)}
    async with client.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
        await response.read()
        return response.status, dict(response.headers)


async def _fail(client: aiohttp.ClientSession, gateway: Gateway, times: int) -> None:
    for _ in range(times):
        status, _ = await _login(client, gateway, WRONG)
        assert status == 401


async def test_the_wait_ends_when_the_failure_window_has_passed(
    make_gateway: Callable[..., Gateway], first: aiohttp.ClientSession
) -> None:
    gateway = make_gateway({"GATEWAY_LOGINS_MAX_FAILURES": "2", "GATEWAY_LOGINS_FAILURE_WINDOW": "2"})
    await _fail(first, gateway, 2)
    status, headers = await _login(first, gateway, RIGHT)
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 3, (status, headers)
    seen = [status]
    deadline = time.monotonic() + 20
    while seen[-1] != 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        seen.append((await _login(first, gateway, RIGHT))[0])
    assert seen[-1] == 200, seen
    assert set(seen) == {429, 200}, seen
    no_traceback_since(gateway, 0)


async def test_failures_from_one_address_do_not_slow_the_user_from_another(
    make_gateway: Callable[..., Gateway], first: aiohttp.ClientSession, second: aiohttp.ClientSession
) -> None:
    gateway = make_gateway({"GATEWAY_LOGINS_MAX_FAILURES": "3", "GATEWAY_LOGINS_FAILURE_WINDOW": "600"})
    await _fail(first, gateway, 3)
    assert (await _login(first, gateway, RIGHT))[0] == 429
    assert (await _login(second, gateway, RIGHT))[0] == 200
    await _fail(second, gateway, 2)  # the second address has a budget of its own ...
    assert (await _login(second, gateway, RIGHT))[0] == 200
    assert (await _login(first, gateway, RIGHT))[0] == 429  # ... and its success frees no one else
    wanted = ("refused for 'alice' from 127.0.0.2", "throttled for 'alice' from 127.0.0.1")  # the gateway saw two addresses
    log = await eventually(gateway.log_text, lambda text: all(w in text for w in wanted), timeout=10)
    assert all(w in log for w in wanted), log[-3000:]


async def test_a_success_clears_the_failure_count(make_gateway: Callable[..., Gateway], first: aiohttp.ClientSession) -> None:
    gateway = make_gateway({"GATEWAY_LOGINS_MAX_FAILURES": "3", "GATEWAY_LOGINS_FAILURE_WINDOW": "600"})
    for _ in range(3):  # 6 failures within the window, never 3 in a row
        await _fail(first, gateway, 2)
        assert (await _login(first, gateway, RIGHT))[0] == 200
    await _fail(first, gateway, 3)
    status, headers = await _login(first, gateway, RIGHT)
    assert status == 429 and int(headers["Retry-After"]) > 0  # the count itself still works
