"""Refresh tokens (docker's stored login) through the real token endpoint, on both stores: a
password change revokes them, and they expire by age and by disuse with `invalid_grant`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from gateway.auth.credentials import secret_hash
from gateway.store import open_store
from tests.integration.api.conftest import no_traceback_since
from tests.support.processes import Gateway
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow  # several gateways or databases per test: run first (tests/conftest.py)

DAY = 86400
NAME, PASSWORD, NEW_PASSWORD = "carol", "carol-secret-pw", "carol-new-secret-pw"


@pytest.fixture
def store_gateway(make_gateway: Callable[..., Gateway], database_url: str) -> Gateway:
    gateway = make_gateway({"GATEWAY_DATABASE_URL": database_url})
    gateway.add_user(NAME, PASSWORD)
    return gateway


async def _login(session: aiohttp.ClientSession, gateway: Gateway, password: str) -> tuple[int, dict[str, Any]]:
    """docker login: GET /v2/token with Basic and offline_token=true."""
    params = {"service": gateway.host, "offline_token": "true", "client_id": "docker"}
    headers = {"Authorization": aiohttp.encode_basic_auth(NAME, password)}
    async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
        return response.status, dict(await response.json())


async def _refresh_token(session: aiohttp.ClientSession, gateway: Gateway) -> str:
    status, body = await _login(session, gateway, PASSWORD)
    assert status == 200, body
    return str(body["refresh_token"])


async def _refresh(session: aiohttp.ClientSession, gateway: Gateway, refresh_token: str) -> tuple[int, dict[str, Any]]:
    """What docker does with its stored login: POST /v2/token grant_type=refresh_token."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "service": gateway.host, "client_id": "docker",
            "scope": f"repository:{NAME}/app:pull"}
    async with session.post(f"{gateway.url}/v2/token", data=form) as response:
        return response.status, dict(await response.json())


def _assert_refused(status: int, body: dict[str, Any]) -> None:
    assert status == 400, body
    assert body["error"] == "invalid_grant"
    assert "access_token" not in body and "token" not in body


async def _age(database_url: str, refresh_token: str, column: str, seconds: int) -> None:
    """Move one of the token's moments back in time, as if that much time had passed."""
    store = await open_store(database_url)
    try:
        await store.execute(
            f"UPDATE refresh_tokens SET {column} = {column} - :seconds WHERE token_hash = :hash",
            {"seconds": seconds, "hash": secret_hash(refresh_token)},
        )
    finally:
        await store.close()


async def test_a_password_change_through_the_api_revokes_the_users_refresh_tokens(
    session: aiohttp.ClientSession, store_gateway: Gateway
) -> None:
    gateway = store_gateway
    refresh = await _refresh_token(session, gateway)
    assert (await _refresh(session, gateway, refresh))[0] == 200
    headers = {"Authorization": aiohttp.encode_basic_auth(NAME, PASSWORD)}
    async with session.patch(f"{gateway.url}/api/v1/users/{NAME}", json={"password": NEW_PASSWORD}, headers=headers) as response:
        assert response.status == 200, await response.text()
    _assert_refused(*await _refresh(session, gateway, refresh))
    status, body = await _login(session, gateway, NEW_PASSWORD)
    assert status == 200, body
    assert (await _refresh(session, gateway, body["refresh_token"]))[0] == 200, "a login after the change works"
    no_traceback_since(gateway, 0)


async def test_a_password_change_through_the_cli_revokes_the_users_refresh_tokens(
    session: aiohttp.ClientSession, store_gateway: Gateway
) -> None:
    gateway = store_gateway
    refresh = await _refresh_token(session, gateway)
    assert (await _refresh(session, gateway, refresh))[0] == 200
    result = gateway.cli("user", "passwd", NAME, "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert "1 stored login(s) (refresh tokens) revoked" in result.stdout
    _assert_refused(*await _refresh(session, gateway, refresh))
    assert (await _login(session, gateway, NEW_PASSWORD))[0] == 200


async def test_a_refresh_token_older_than_the_maximum_age_is_refused(
    session: aiohttp.ClientSession, store_gateway: Gateway, database_url: str
) -> None:
    gateway = store_gateway
    refresh = await _refresh_token(session, gateway)
    await _age(database_url, refresh, "created_at", 89 * DAY)
    assert (await _refresh(session, gateway, refresh))[0] == 200, "within the default 90 days"
    await _age(database_url, refresh, "created_at", 2 * DAY)
    status, body = await _refresh(session, gateway, refresh)
    _assert_refused(status, body)
    assert "expired" in body["error_description"]
    line = "refresh refused for 'carol': token issued longer ago than tokens.refresh_max_age"
    assert line in await eventually(gateway.log_text, lambda text: line in text)


async def test_a_refresh_token_unused_for_longer_than_the_idle_limit_is_refused_and_each_use_restarts_it(
    session: aiohttp.ClientSession, store_gateway: Gateway, database_url: str
) -> None:
    gateway = store_gateway
    refresh = await _refresh_token(session, gateway)
    await _age(database_url, refresh, "last_used_at", 13 * DAY)
    assert (await _refresh(session, gateway, refresh))[0] == 200, "within the default 14 days"
    await _age(database_url, refresh, "last_used_at", 13 * DAY)
    assert (await _refresh(session, gateway, refresh))[0] == 200, "the last use restarted the idle limit"
    await _age(database_url, refresh, "last_used_at", 15 * DAY)
    status, body = await _refresh(session, gateway, refresh)
    _assert_refused(status, body)
    line = "refresh refused for 'carol': token unused for longer than tokens.refresh_max_idle"
    assert line in await eventually(gateway.log_text, lambda text: line in text)


async def test_a_tiny_maximum_age_setting_ends_refresh_tokens_early(
    session: aiohttp.ClientSession, make_gateway: Callable[..., Gateway], database_url: str
) -> None:
    gateway = make_gateway({"GATEWAY_DATABASE_URL": database_url, "GATEWAY_TOKENS_REFRESH_MAX_AGE": "60"})
    gateway.add_user(NAME, PASSWORD)
    refresh = await _refresh_token(session, gateway)
    assert (await _refresh(session, gateway, refresh))[0] == 200
    await _age(database_url, refresh, "created_at", 61)
    _assert_refused(*await _refresh(session, gateway, refresh))

