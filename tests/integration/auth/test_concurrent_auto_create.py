"""Two users pushing into one missing namespace at once, through two gateways on one store (both
stores), with namespaces.auto_create on: one of them founds it and owns it alone, the other is
refused push, nobody gets a 500 and there is one team and one namespace row."""

from __future__ import annotations

import asyncio
import secrets

import aiohttp
import pytest

from tests.integration.api.conftest import Api, no_traceback_since
from tests.support.client import USERS
from tests.support.processes import Gateway

ROUNDS = 4
PER_USER = 3


@pytest.fixture
def twins_env() -> dict[str, str]:
    return {"GATEWAY_NAMESPACES_AUTO_CREATE": "true"}


async def _push_token(session: aiohttp.ClientSession, gateway: Gateway, user: str, namespace: str) -> tuple[str, str]:
    params = {"service": gateway.host, "scope": f"repository:{namespace}/app:pull,push"}
    headers = {"Authorization": aiohttp.encode_basic_auth(user, USERS[user])}
    async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
        body = await response.json()
        assert response.status == 200, body
        return user, str(body["scope"])


async def test_one_of_two_racing_pushers_founds_a_missing_namespace(
    session: aiohttp.ClientSession, twins: tuple[Gateway, Gateway]
) -> None:
    admin = Api(session, twins[0], Gateway.ADMIN)
    for _ in range(ROUNDS):
        namespace = f"race--{secrets.token_hex(4)}"  # a name no user can have: users may auto-create it
        requests = [
            _push_token(session, twins[i % 2], user, namespace)
            for i, user in enumerate(["alice", "bob"] * PER_USER)
        ]
        answers = await asyncio.gather(*requests)
        members = (await admin.ok("GET", f"/teams/{namespace}/members"))["items"]
        assert len(members) == 1 and members[0]["role"] == "owner", members
        owner = members[0]["user"]
        pushers = {user for user, scope in answers if scope}
        assert pushers == {owner}, answers
        assert all(scope in ("", f"repository:{namespace}/app:pull,push") for _, scope in answers), answers
        found = await admin.ok("GET", f"/namespaces/{namespace}")
        assert (found["team"], found["visibility"]) == (namespace, "private")
        teams, _ = await admin.collect("/teams", 100)
        assert [t["name"] for t in teams].count(namespace) == 1
        loser = "bob" if owner == "alice" else "alice"
        assert (await _push_token(session, twins[0], loser, namespace))[1] == ""  # and stays refused after the race
        assert (await _push_token(session, twins[1], owner, namespace))[1] == f"repository:{namespace}/app:pull,push"
    for gateway in twins:
        no_traceback_since(gateway, 0)
