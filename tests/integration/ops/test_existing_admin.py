"""GATEWAY_ADMIN_USERNAME/PASSWORD create the first admin only when no such user exists. A user
of that name already in the store is left exactly as it is at start-up: its password, its
admin and disabled flags and its row (`updated_at`) are unchanged, so a forgotten environment
variable cannot reset a password an admin changed, re-enable a disabled account or make
someone an admin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from gateway.store import User, open_store
from tests.integration.api.conftest import no_traceback_since
from tests.support.processes import Gateway, Registry

OLD_PASSWORD = "the-admins-own-changed-pw"


async def _user(database_url: str, name: str) -> User | None:
    store = await open_store(database_url)
    try:
        return await store.get_user(name)
    finally:
        await store.close()


async def _login(session: aiohttp.ClientSession, gateway: Gateway, password: str) -> int:
    params = {"service": gateway.host, "scope": f"repository:{Gateway.ADMIN[0]}/app:pull"}
    headers = {"Authorization": aiohttp.encode_basic_auth(Gateway.ADMIN[0], password)}
    async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
        await response.read()
        return response.status


@pytest.mark.parametrize(
    ("admin", "disabled"), [(False, False), (False, True), (True, True)], ids=["plain", "plain-disabled", "admin-disabled"]
)
async def test_an_existing_user_named_by_the_admin_settings_is_left_untouched(
    session: aiohttp.ClientSession, make_gateway: Callable[..., Gateway], registry: Registry, tmp_path: Path,
    database_url: str, admin: bool, disabled: bool,
) -> None:
    env = {"GATEWAY_DATABASE_URL": database_url}
    name = Gateway.ADMIN[0]
    operator = Gateway(tmp_path / "operator", registry.url, env)  # the CLI on the same store, before any start
    operator.cli("user", "add", name, *(["--admin"] if admin else []), "--password-stdin", stdin=OLD_PASSWORD + "\n")
    if disabled:
        operator.cli("user", "disable", name)
    before = await _user(database_url, name)
    assert before is not None and (before.admin, before.disabled) == (admin, disabled)

    gateway = make_gateway(env, add_users=False)
    gateway.stop()
    gateway.start()  # and again: a restart does not touch it either

    assert await _user(database_url, name) == before  # hash, flags and updated_at as they were
    assert await _login(session, gateway, Gateway.ADMIN[1]) == 401  # the configured password is not set
    assert await _login(session, gateway, OLD_PASSWORD) == (401 if disabled else 200)
    async with session.get(f"{gateway.url}/api/v1/users", headers={
        "Authorization": aiohttp.encode_basic_auth(name, OLD_PASSWORD)
    }) as response:
        assert response.status == (401 if disabled else 403)  # no admin powers were handed out
    assert "created admin user" not in gateway.log_text()
    no_traceback_since(gateway, 0)
