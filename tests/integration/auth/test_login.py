"""The authenticator on a real store with the real KDF: concurrent checks of the same
credentials share one scrypt run, and nobody's answer depends on someone else's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.auth.credentials import PasswordHasher, hash_password
from gateway.auth.login import Authenticator, CredentialCache, Throttled
from gateway.auth.throttle import LoginThrottle
from gateway.store import Store, open_store


class CountingHasher(PasswordHasher):
    """The real hasher, counting how often the KDF actually runs."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def verify(self, password: str, encoded: str | None) -> bool:
        self.runs += 1
        self.started.set()
        await self.release.wait()  # a test can hold the check open while a caller leaves
        return await super().verify(password, encoded)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{tmp_path / 'store.db'}")
    await opened.migrate()
    await opened.create_user("carol", hash_password("carol-password"))
    yield opened
    await opened.close()


def _authenticator(store: Store, hasher: PasswordHasher) -> Authenticator:
    return Authenticator(store, hasher, CredentialCache(), LoginThrottle(max_failures=100, window_seconds=60))


async def test_a_burst_of_the_same_credentials_costs_one_kdf_run(store: Store) -> None:
    hasher = CountingHasher()
    auth = _authenticator(store, hasher)
    identities = await asyncio.gather(*(auth.login("carol", "carol-password", f"10.0.0.{n}") for n in range(12)))
    assert [i.name for i in identities if i is not None] == ["carol"] * 12
    assert hasher.runs == 1
    wrong = await asyncio.gather(*(auth.login("carol", "not-her-password", "10.0.0.1") for _ in range(6)))
    assert wrong == [None] * 6
    assert hasher.runs == 2, "a burst of the same wrong password is one check too, and is not remembered"
    assert await auth.login("carol", "not-her-password", "10.0.0.1") is None
    assert hasher.runs == 3


async def test_different_passwords_are_checked_each_on_their_own(store: Store) -> None:
    hasher = CountingHasher()
    auth = _authenticator(store, hasher)
    right, wrong = await asyncio.gather(
        auth.login("carol", "carol-password", "10.0.0.1"), auth.login("carol", "carol-guess", "10.0.0.2")
    )
    assert right is not None and right.name == "carol"
    assert wrong is None
    assert hasher.runs == 2


async def test_a_caller_that_goes_away_does_not_cancel_the_check_for_the_others(store: Store) -> None:
    hasher = CountingHasher()
    hasher.release.clear()
    auth = _authenticator(store, hasher)
    leaving = asyncio.create_task(auth.login("carol", "carol-password", "10.0.0.1"))
    staying = asyncio.create_task(auth.login("carol", "carol-password", "10.0.0.2"))
    await asyncio.wait_for(hasher.started.wait(), 30)  # the shared check is running...
    leaving.cancel()
    await asyncio.wait([leaving])  # ...when its first caller is gone
    assert not staying.done()
    hasher.release.set()
    identity = await asyncio.wait_for(staying, 30)
    assert identity is not None and identity.name == "carol"
    assert leaving.cancelled()
    assert hasher.runs == 1


@pytest.mark.parametrize("secret", ["pgat_0123456789ab_" + "A" * 43, "pgat_not-even-well-formed"])
async def test_failed_application_tokens_count_towards_the_throttle(store: Store, secret: str) -> None:
    hasher = CountingHasher()
    auth = Authenticator(store, hasher, CredentialCache(), LoginThrottle(max_failures=3, window_seconds=60))
    for _ in range(3):
        assert await auth.login("carol", secret, "10.0.0.1") is None
    with pytest.raises(Throttled):
        await auth.login("carol", "carol-password", "10.0.0.1")
    assert hasher.runs == 0
    assert await auth.login("carol", "carol-password", "10.0.0.2") is not None, "only that address is slowed"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_password_in_use_is_not_checked_again_every_minute(store: Store) -> None:
    """Logins and decisions the token endpoint kept (`succeeded` with the password) keep the
    check alive; a password left alone for the cache's lifetime is checked again."""
    hasher, clock = CountingHasher(), Clock()
    auth = Authenticator(store, hasher, CredentialCache(clock=clock), LoginThrottle(max_failures=100, window_seconds=60))
    assert await auth.login("carol", "carol-password", "10.0.0.1") is not None
    for moment in range(50, 500, 50):
        clock.now = moment
        auth.succeeded("carol", "10.0.0.1", "carol-password")
    assert await auth.login("carol", "carol-password", "10.0.0.1") is not None
    assert hasher.runs == 1, "a password in use was checked again"
    clock.now += 61
    assert await auth.login("carol", "carol-password", "10.0.0.1") is not None
    assert hasher.runs == 2, "a password left alone past the lifetime was not checked again"
