"""Two browsers sending the first-run form at the same moment, to a gateway of two worker
processes (so the race crosses processes, not just tasks): one admin is created and signed in,
the other browser gets the "already set up" page and no session. Plain aiohttp, sent together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from tests.integration.ui.api_calls import api_as
from tests.integration.ui.conftest import NO_ADMIN, setup_url
from tests.support.processes import Gateway

ROUNDS = 4


async def _open_form(client: aiohttp.ClientSession, url: str) -> dict[str, str]:
    """What a browser that opened the setup form holds: its form token and pre-session cookie."""
    async with client.get(url) as response:
        page = await response.text()
        cookie = response.cookies["portus_form"].value
    return {"csrf": page.split('name="csrf" value="', 1)[1].split('"', 1)[0], "cookie": cookie}


async def _send(client: aiohttp.ClientSession, gateway: Gateway, code: str, held: dict[str, str], name: str) -> tuple[int, bool]:
    data = {"csrf": held["csrf"], "code": code, "username": name, "password": "a-long-password", "password_again": "a-long-password"}
    headers = {"Origin": gateway.url, "Cookie": f"portus_form={held['cookie']}"}
    async with client.post(f"{gateway.url}/ui/setup", data=data, headers=headers, allow_redirects=False) as response:
        await response.read()
        return response.status, "portus_session" in response.cookies


async def _race(gateway: Gateway, url: str) -> list[tuple[int, bool]]:
    code = url.split("code=", 1)[1]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client:
        held = [await _open_form(client, url) for _ in range(2)]
        return list(await asyncio.gather(*(_send(client, gateway, code, h, f"chief{i}") for i, h in enumerate(held))))


async def test_two_setup_forms_sent_at_once_create_one_admin(make_gateway: Callable[..., Gateway]) -> None:
    for _ in range(ROUNDS):  # each round a fresh store: the race is run a few times
        fresh = make_gateway({**NO_ADMIN, "GATEWAY_SERVER_WORKERS": "2"}, add_users=False)
        answers = await _race(fresh, await asyncio.to_thread(setup_url, fresh))
        assert sorted(answers) == [(303, True), (404, False)], answers
        winner = f"chief{answers.index((303, True))}"
        status, users = await asyncio.to_thread(api_as, fresh, winner, "a-long-password", "GET", "/users")
        assert status == 200 and [(u["name"], u["admin"]) for u in users["items"]] == [(winner, True)]
        fresh.stop()
