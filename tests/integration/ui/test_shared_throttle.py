"""Sign-in failures share one throttle with the token endpoint (`docker login`): failures in
one place make the other wait too, so the web form is no way around the token endpoint's limit
(nor the reverse). Plain aiohttp: the form and /v2/token as a script would hammer them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from tests.support.client import USERS
from tests.support.processes import Gateway

MAX_FAILURES = 2


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def _token_status(client: aiohttp.ClientSession, gateway: Gateway, user: str, password: str) -> int:
    headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
    async with client.get(f"{gateway.url}/v2/token", params={"service": gateway.host}, headers=headers) as response:
        return response.status


async def _sign_in(client: aiohttp.ClientSession, gateway: Gateway, user: str, password: str) -> tuple[int, str]:
    async with client.get(f"{gateway.url}/ui/login") as response:
        page = await response.text()
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    data = {"csrf": token, "username": user, "password": password}
    async with client.post(
        f"{gateway.url}/ui/login", data=data, headers={"Origin": gateway.url}, allow_redirects=False,
    ) as response:
        return response.status, await response.text()


@pytest.fixture
def throttled(make_gateway: Callable[..., Gateway]) -> Gateway:
    return make_gateway({"GATEWAY_LOGINS_MAX_FAILURES": str(MAX_FAILURES)})


async def test_failures_at_the_token_endpoint_make_the_sign_in_form_wait(throttled: Gateway, client: aiohttp.ClientSession) -> None:
    for _ in range(MAX_FAILURES):
        assert await _token_status(client, throttled, "alice", "wrong-password") == 401
    status, page = await _sign_in(client, throttled, "alice", USERS["alice"])  # even the right password waits
    assert status == 429 and "Too many failed attempts" in page
    status, _ = await _sign_in(client, throttled, "bob", USERS["bob"])  # per user: bob is not held up
    assert status == 303


async def test_failures_in_the_sign_in_form_make_the_token_endpoint_wait(throttled: Gateway, client: aiohttp.ClientSession) -> None:
    for _ in range(MAX_FAILURES):
        status, page = await _sign_in(client, throttled, "bob", "wrong-password")
        assert status == 401 and "Wrong user name or password." in page
    assert await _token_status(client, throttled, "bob", USERS["bob"]) == 429
    assert await _token_status(client, throttled, "alice", USERS["alice"]) == 200
