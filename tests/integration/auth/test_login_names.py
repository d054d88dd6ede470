"""One canonical user name for the throttle and the store: `ALICE` and `alice ` are not alice.

MariaDB's default collation found alice for either, while the throttle counted each variant on
its own, so every variant brought a fresh budget of password guesses. A name outside the
user-name grammar is now refused before the throttle, the lookup and the KDF.
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest

from gateway.auth.credentials import PasswordHasher, hash_password
from gateway.auth.login import Authenticator, CredentialCache, Throttled
from gateway.auth.throttle import LoginThrottle
from gateway.store import Store
from tests.support.client import USERS
from tests.support.processes import Gateway
from tests.support.waiting import eventually

VARIANTS = ("ALICE", "Alice", "alice ", "alice  ", " alice", "alice\n", "alice\t")


class CountingHasher(PasswordHasher):
    """The real hasher, counting how often the KDF runs."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    async def verify(self, password: str, encoded: str | None) -> bool:
        self.runs += 1
        return await super().verify(password, encoded)


async def test_variants_of_a_name_do_not_log_in_and_cost_no_lookup_kdf_or_budget(store: Store) -> None:
    await store.create_user("alice", hash_password("alice-password"))
    hasher = CountingHasher()
    throttle = LoginThrottle(max_failures=3, window_seconds=60)
    auth = Authenticator(store, hasher, CredentialCache(), throttle)
    for variant in VARIANTS:
        assert await auth.login(variant, "alice-password", "10.0.0.1") is None, repr(variant)
    assert hasher.runs == 0, "refused on the grammar, before any KDF run"
    assert await auth.login("nobody", "alice-password", "10.0.0.1") is None
    assert hasher.runs == 1, "an unknown valid name still costs the dummy KDF, as a known one does"

    for _ in range(3):
        assert await auth.login("alice", "a-guess", "10.0.0.2") is None
    with pytest.raises(Throttled):
        await auth.login("alice", "alice-password", "10.0.0.2")
    for variant in VARIANTS:
        assert await auth.login(variant, "alice-password", "10.0.0.2") is None, f"{variant!r} is no way around the throttle"
    assert (await auth.login("alice", "alice-password", "10.0.0.3")) is not None


async def test_the_token_endpoint_throttle_is_not_bypassed_by_variants(
    make_gateway: Callable[..., Gateway], database_url: str
) -> None:
    gateway = make_gateway({"GATEWAY_DATABASE_URL": database_url, "GATEWAY_LOGINS_MAX_FAILURES": "3"})
    params = {"service": gateway.host, "scope": "repository:alice/app:pull"}

    async def status(session: aiohttp.ClientSession, user: str, password: str) -> int:
        headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
            await response.read()
            return response.status

    async with aiohttp.ClientSession() as session:
        assert [await status(session, "alice", f"guess-{n}") for n in range(3)] == [401, 401, 401]
        assert await status(session, "alice", USERS["alice"]) == 429
        for variant in VARIANTS:
            assert await status(session, variant, USERS["alice"]) == 401, f"{variant!r} got a token for alice"
        assert await status(session, "alice", USERS["alice"]) == 429
    log = await eventually(gateway.log_text, lambda text: "not a valid user name" in text)
    assert "login refused for 'ALICE' from 127.0.0.1: not a valid user name" in log
