"""Password hashes at OWASP's cost (scrypt N=2^17): a hash an older version made at N=2^14 still
verifies, and the login that proves the password replaces it with a strong one, on both stores."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp

from gateway.auth.credentials import hash_password, verify_password
from gateway.store import open_store
from tests.support.client import fetch_token
from tests.support.processes import Gateway

PASSWORD = "carol-old-hash-pw"


async def _stored_hash(database_url: str, name: str) -> str:
    store = await open_store(database_url)
    try:
        user = await store.get_user(name)
        assert user is not None
        return user.password_hash
    finally:
        await store.close()


async def test_an_old_hash_verifies_and_is_replaced_by_a_strong_one_after_a_login(
    database_url: str, make_gateway: Callable[..., Gateway]
) -> None:
    store = await open_store(database_url)
    try:
        await store.migrate()
        await store.create_user("carol", hash_password(PASSWORD, cost=14))  # as a version before this one hashed
    finally:
        await store.close()
    gateway = make_gateway({"GATEWAY_DATABASE_URL": database_url, "GATEWAY_AUTH_PASSWORD_COST": "17"}, add_users=False)
    async with aiohttp.ClientSession() as session:
        body = await fetch_token(session, gateway.url, gateway.host, "carol", PASSWORD, "repository:carol/app:pull")
        assert body["scope"] == "repository:carol/app:pull"
        deadline = time.monotonic() + 20
        stored = await _stored_hash(database_url, "carol")
        while stored.startswith("scrypt$16384$") and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            stored = await _stored_hash(database_url, "carol")
        assert stored.startswith("scrypt$131072$8$1$"), stored
        assert verify_password(PASSWORD, stored)
        again = await fetch_token(session, gateway.url, gateway.host, "carol", PASSWORD, "repository:carol/app:pull")
        assert again["scope"] == "repository:carol/app:pull"
    assert "password hash of 'carol' renewed at cost 17" in gateway.log_text()


async def test_a_wrong_password_does_not_renew_an_old_hash(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway({"GATEWAY_AUTH_PASSWORD_COST": "17"}, add_users=False)
    database_url = f"sqlite:///{gateway.workdir / 'data' / 'gateway.db'}"
    old = hash_password(PASSWORD, cost=14)
    store = await open_store(database_url)
    try:
        await store.create_user("dave", old)
    finally:
        await store.close()
    async with aiohttp.ClientSession() as session:
        url = f"{gateway.url}/v2/token?service={gateway.host}"
        async with session.get(url, headers={"Authorization": aiohttp.encode_basic_auth("dave", "wrong-password")}) as response:
            assert response.status == 401
    await asyncio.sleep(1)
    assert await _stored_hash(database_url, "dave") == old
