"""First run: one setup code for every process, consumed with the admin's creation at once."""

from __future__ import annotations

import asyncio

import pytest

from gateway.auth.sealing import Sealer, new_key
from gateway.services.context import Services
from gateway.services.errors import Invalid
from gateway.services.setup import SetupClosed, complete_setup, open_setup, setup_is_open
from gateway.store import Store, open_store

SEALER = Sealer([new_key()])


async def _code(store: Store) -> str:
    offer = await open_setup(store, SEALER, admin_configured=False)
    assert offer is not None and offer.code is not None
    return offer.code


async def test_every_process_on_the_store_gets_the_same_code(store: Store, database_url: str) -> None:
    other = await open_store(database_url)
    try:
        first, second = await asyncio.gather(_code(store), _code(other))
    finally:
        await other.close()
    assert first == second and await setup_is_open(store, first)


async def test_a_process_with_another_secrets_key_accepts_the_code_but_cannot_show_it(store: Store) -> None:
    code = await _code(store)
    offer = await open_setup(store, Sealer([new_key()]), admin_configured=False)
    assert offer is not None and offer.code is None
    assert await setup_is_open(store, code)


async def test_no_setup_when_an_admin_exists_or_is_configured(store: Store) -> None:
    assert await open_setup(store, SEALER, admin_configured=True) is None
    assert await store.get_setup_code() is None
    await store.create_user("root", "hash", admin=True)
    assert await open_setup(store, SEALER, admin_configured=False) is None


async def test_the_code_creates_one_admin_and_then_is_closed(services: Services) -> None:
    code = await _code(services.store)
    user = await complete_setup(services, code, "root", "a-long-password")
    assert user.admin and (await services.store.get_user("root")) is not None
    with pytest.raises(SetupClosed):
        await complete_setup(services, code, "other", "a-long-password")
    assert await services.store.get_user("other") is None
    assert not await setup_is_open(services.store, code)


async def test_a_wrong_code_creates_nothing_and_leaves_the_right_one_open(services: Services) -> None:
    code = await _code(services.store)
    with pytest.raises(SetupClosed):
        await complete_setup(services, code + "x", "root", "a-long-password")
    assert await services.store.get_user("root") is None and await setup_is_open(services.store, code)


async def test_a_refused_password_leaves_the_code_unused(services: Services) -> None:
    code = await _code(services.store)
    with pytest.raises(Invalid):
        await complete_setup(services, code, "root", "short")
    assert await services.store.get_user("root") is None and await setup_is_open(services.store, code)


async def test_two_concurrent_submissions_create_one_admin(services: Services, database_url: str) -> None:
    code = await _code(services.store)
    other_store = await open_store(database_url)
    other = Services(other_store, services.hasher, services.revocations, services.rules)
    try:
        results = await asyncio.gather(
            complete_setup(services, code, "first", "a-long-password"),
            complete_setup(other, code, "second", "a-long-password"),
            return_exceptions=True,
        )
    finally:
        await other_store.close()
    created = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, SetupClosed)]
    assert len(created) == 1 and len(refused) == 1, results
    admins = [u.name for u in await services.store.list_users() if u.admin]
    assert admins == [created[0].name]


async def test_a_used_code_is_replaced_when_no_admin_is_left(services: Services) -> None:
    code = await _code(services.store)
    await complete_setup(services, code, "root", "a-long-password")
    await services.store.execute("DELETE FROM users")
    fresh = await _code(services.store)
    assert fresh != code and await setup_is_open(services.store, fresh)
    assert not await setup_is_open(services.store, code)
