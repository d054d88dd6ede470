"""A push into a missing namespace creates it where configured, but a name a user could have
only for an admin: else any signed-in user could take the personal namespace of a user yet to come."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import aiohttp

from tests.support.client import USERS
from tests.support.processes import Gateway


async def test_auto_create_leaves_names_a_user_could_have_to_admins(
    make_gateway: Callable[..., Gateway], database_url: str
) -> None:
    gateway = make_gateway({"GATEWAY_DATABASE_URL": database_url, "GATEWAY_NAMESPACES_AUTO_CREATE": "true"})
    suffix = secrets.token_hex(4)

    async def push_scope(session: aiohttp.ClientSession, user: str, password: str, namespace: str) -> str:
        params = {"service": gateway.host, "scope": f"repository:{namespace}/app:pull,push"}
        headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
            assert response.status == 200
            return str((await response.json())["scope"])

    async def namespace(session: aiohttp.ClientSession, name: str) -> int:
        headers = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
        async with session.get(f"{gateway.url}/api/v1/namespaces/{name}", headers=headers) as response:
            return response.status

    async with aiohttp.ClientSession() as session:
        future = f"carol{suffix}"
        assert await push_scope(session, "alice", USERS["alice"], future) == ""
        assert await namespace(session, future) == 404, "not created for a user who is no admin"
        team_space = f"web--{suffix}"
        assert await push_scope(session, "alice", USERS["alice"], team_space) == f"repository:{team_space}/app:pull,push"
        assert await namespace(session, team_space) == 200
        by_admin = f"dave{suffix}"
        assert await push_scope(session, *Gateway.ADMIN, by_admin) == f"repository:{by_admin}/app:pull,push"
        assert await namespace(session, by_admin) == 200
