"""Token lifetimes through the real token endpoint, on both stores: a registry token lives
`token_ttl` seconds and never beyond the expiry of the application token it came from, and an
application token stops working at the token endpoint once its expiry has passed, on its own
clock (no write to the store marks the moment)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt
import pytest

from gateway.store import open_store
from tests.integration.api.conftest import PASSWORD, Api, no_traceback_since
from tests.support.processes import Gateway

TTL = 120


@pytest.fixture
def ttl_gateway(make_gateway: Callable[..., Gateway], database_url: str) -> Gateway:
    return make_gateway({"GATEWAY_DATABASE_URL": database_url, "GATEWAY_TOKEN_TTL": str(TTL)}, add_users=False)


async def _new_user_with_app_token(session: aiohttp.ClientSession, gateway: Gateway, expires_in: str) -> tuple[str, str]:
    admin = Api(session, gateway, Gateway.ADMIN)
    user = await admin.new_user("exp")
    body = {"name": "ci", "actions": ["pull", "push"], "expires_in": expires_in}
    created = await admin.as_(user).ok("POST", f"/users/{user}/tokens", body, 201)
    return user, str(created["secret"])


async def _set_expiry(database_url: str, secret: str, expires_at: int) -> None:
    """Move the application token's expiry, as if it had been created with that lifetime."""
    token_id = secret.split("_")[1]
    store = await open_store(database_url)
    try:
        await store.execute("UPDATE app_tokens SET expires_at = :at WHERE id = :id", {"at": expires_at, "id": token_id})
    finally:
        await store.close()


async def _get_token(session: aiohttp.ClientSession, gateway: Gateway, user: str, password: str) -> tuple[int, dict[str, Any]]:
    params = {"service": gateway.host, "scope": f"repository:{user}/app:pull"}
    headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
    async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
        return response.status, dict(await response.json())


async def _post_token(session: aiohttp.ClientSession, gateway: Gateway, user: str, password: str) -> tuple[int, dict[str, Any]]:
    form = {"grant_type": "password", "username": user, "password": password, "service": gateway.host,
            "client_id": "test", "scope": f"repository:{user}/app:pull"}
    async with session.post(f"{gateway.url}/v2/token", data=form) as response:
        return response.status, dict(await response.json())


def _claims(body: dict[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(body["access_token"], options={"verify_signature": False})
    return claims


async def test_a_registry_token_lives_exactly_token_ttl(session: aiohttp.ClientSession, ttl_gateway: Gateway) -> None:
    admin = Api(session, ttl_gateway, Gateway.ADMIN)
    user = await admin.new_user("ttl")
    for fetch in (_get_token, _post_token):
        status, body = await fetch(session, ttl_gateway, user, PASSWORD)
        assert status == 200, body
        claims = _claims(body)
        assert claims["exp"] - claims["iat"] == TTL == body["expires_in"], (fetch.__name__, claims, body)
    no_traceback_since(ttl_gateway, 0)


async def test_an_application_token_living_longer_than_token_ttl_gets_token_ttl(
    session: aiohttp.ClientSession, ttl_gateway: Gateway
) -> None:
    user, secret = await _new_user_with_app_token(session, ttl_gateway, "30d")
    for fetch in (_get_token, _post_token):
        status, body = await fetch(session, ttl_gateway, user, secret)
        assert status == 200, body
        claims = _claims(body)
        assert claims["exp"] - claims["iat"] == TTL == body["expires_in"], (fetch.__name__, claims)
        assert claims["app_token_name"] == "ci"


async def test_a_registry_token_never_outlives_its_application_token(
    session: aiohttp.ClientSession, ttl_gateway: Gateway, database_url: str
) -> None:
    user, secret = await _new_user_with_app_token(session, ttl_gateway, "30d")
    ends = int(time.time()) + 45  # sooner than token_ttl from now
    await _set_expiry(database_url, secret, ends)
    for fetch in (_get_token, _post_token):
        status, body = await fetch(session, ttl_gateway, user, secret)
        assert status == 200, body
        claims = _claims(body)
        assert claims["exp"] == ends, (fetch.__name__, claims)
        assert body["expires_in"] == ends - claims["iat"] < TTL


async def test_an_application_token_stops_working_once_its_expiry_passes(
    session: aiohttp.ClientSession, ttl_gateway: Gateway, database_url: str
) -> None:
    user, secret = await _new_user_with_app_token(session, ttl_gateway, "30d")
    ends = int(time.time()) + 5
    await _set_expiry(database_url, secret, ends)
    status, body = await _get_token(session, ttl_gateway, user, secret)
    assert status == 200 and _claims(body)["exp"] <= ends, body

    async def probe() -> tuple[int, int]:
        return (await _get_token(session, ttl_gateway, user, secret))[0], (await _post_token(session, ttl_gateway, user, secret))[0]

    statuses: list[tuple[int, int]] = []

    def record() -> bool:
        return bool(statuses) and statuses[-1] == (401, 401)

    deadline = time.monotonic() + 30
    while not record() and time.monotonic() < deadline:
        statuses.append(await probe())
        if not record():
            await asyncio.sleep(0.3)
    assert statuses[-1] == (401, 401), statuses
    assert time.time() >= ends  # refused only once the expiry had come
    status, body = await _get_token(session, ttl_gateway, user, secret)
    assert status == 401 and body["error"] == "invalid_grant", body
    status, _ = await _get_token(session, ttl_gateway, user, PASSWORD)
    assert status == 200  # the user's own password is not touched by the token's end
    no_traceback_since(ttl_gateway, 0)
