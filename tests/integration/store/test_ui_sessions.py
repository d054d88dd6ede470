"""Web UI sessions and the setup code in the store (SQLite and MariaDB)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.store import Conflict, Store
from gateway.store.sql import now


async def test_a_session_is_found_by_its_hash_and_touching_moves_its_last_use(store: Store) -> None:
    created = await store.create_session("a" * 64, "alice", moment=1000)
    await store.touch_session("a" * 64, 1500)
    found = await store.get_session("a" * 64)
    assert found is not None and found.username == "alice" and found.created_at == created.created_at == 1000
    assert found.last_seen_at == 1500 and found.ended_at is None
    assert await store.get_session("b" * 64) is None


async def test_ending_one_session_leaves_the_others_and_ends_once(store: Store) -> None:
    await store.create_session("a" * 64, "alice")
    await store.create_session("b" * 64, "alice")
    assert await store.end_session("a" * 64) is True
    assert await store.end_session("a" * 64) is False
    ended, other = await store.get_session("a" * 64), await store.get_session("b" * 64)
    assert ended is not None and ended.ended_at is not None
    assert other is not None and other.ended_at is None


async def test_end_sessions_ends_every_open_session_of_that_user_only(store: Store) -> None:
    for index, user in enumerate(("alice", "alice", "bob")):
        await store.create_session(str(index) * 64, user)
    await store.end_session("0" * 64)
    assert await store.end_sessions("alice") == 1
    assert await store.end_sessions("alice") == 0
    bobs = await store.get_session("2" * 64)
    assert bobs is not None and bobs.ended_at is None


async def test_prune_deletes_ended_idle_and_too_old_sessions_only(store: Store) -> None:
    moment = now()
    await store.create_session("e" * 64, "alice", moment=moment)
    await store.end_session("e" * 64)
    await store.create_session("i" * 64, "alice", moment=moment - 100)
    await store.create_session("o" * 64, "alice", moment=moment - 1000)
    await store.touch_session("o" * 64, moment)
    await store.create_session("k" * 64, "alice", moment=moment)
    assert await store.prune_sessions(idle=50, max_age=500) == 3
    assert [h for h in "eiok" if await store.get_session(h * 64) is not None] == ["k"]


async def test_only_one_setup_code_exists_and_only_one_consumer_gets_it(store: Store) -> None:
    await store.add_setup_code("c" * 64, "sealed")
    with pytest.raises(Conflict):
        await store.add_setup_code("d" * 64, "other")
    assert await store.consume_setup_code("d" * 64) is False
    results = await asyncio.gather(*(store.consume_setup_code("c" * 64) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    code = await store.get_setup_code()
    assert code is not None and code.used_at is not None and code.sealed_code == "sealed"


async def test_a_used_setup_code_can_be_renewed_but_an_unused_one_is_kept(store: Store) -> None:
    await store.add_setup_code("c" * 64, "sealed")
    assert await store.renew_used_setup_code("d" * 64, "new") is False
    await store.consume_setup_code("c" * 64)
    assert await store.renew_used_setup_code("d" * 64, "new") is True
    code = await store.get_setup_code()
    assert code is not None and code.code_hash == "d" * 64 and code.used_at is None


async def test_has_admin_sees_only_admins(store: Store) -> None:
    assert await store.has_admin() is False
    await store.create_user("alice", "hash")
    assert await store.has_admin() is False
    await store.create_user("root", "hash", admin=True)
    assert await store.has_admin() is True
