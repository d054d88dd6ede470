"""The data version every process follows: on MariaDB a row bumped with each write that can
change a decision, so another instance's caches end within one poll; on SQLite the WAL index.
Both seen through the change watch, which wakes the revocation view."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import gateway.store.mysql
from gateway.store import AppToken, Store, open_store
from gateway.store.change_watch import ChangeWatch
from tests.support.processes import mariadb_database


async def _pair(url: str) -> tuple[Store, Store]:
    first = await open_store(url)
    await first.migrate()
    return first, await open_store(url)


@pytest.fixture
async def two(database_url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one database, as two instances (or workers) open it; on each store."""
    first, second = await _pair(database_url)
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
async def on_mariadb() -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one fresh MariaDB database."""
    url, drop = mariadb_database()
    first, second = await _pair(url)
    yield first, second
    await first.close()
    await second.close()
    drop()


async def _seen_by(store: Store) -> object:
    await store.poll_version()
    return store.data_version()


async def test_a_decision_written_by_one_process_changes_the_version_the_other_sees(two: tuple[Store, Store]) -> None:
    writer, reader = two
    await writer.create_user("alice", "hash")
    before = await _seen_by(reader)
    assert before is not None
    assert await writer.set_user_disabled("alice", True)
    assert await _seen_by(reader) != before


async def test_a_write_that_decides_nothing_leaves_the_version_alone_on_mariadb(on_mariadb: tuple[Store, Store]) -> None:
    writer, reader = on_mariadb  # (SQLite's version moves with every commit, by design)
    await writer.create_user("alice", "hash")
    token = AppToken("t1", "alice", "ci", "secret-hash", (), ("pull",), None, 0, None)
    await writer.create_app_token(token)
    before = await _seen_by(reader)
    await writer.touch_app_token("t1")  # bookkeeping: when it was last used
    assert not await writer.set_user_disabled("nobody", True)  # matched no row
    with pytest.raises(RuntimeError):
        async with writer.transaction():
            await writer.set_user_disabled("alice", True)
            raise RuntimeError("rolled back")
    assert await _seen_by(reader) == before
    assert (await writer.get_user("alice")).disabled is False  # type: ignore[union-attr]


async def test_this_process_sees_its_own_change_at_once_without_a_poll(two: tuple[Store, Store]) -> None:
    writer, _ = two
    await writer.poll_version()
    before = writer.data_version()
    await writer.create_team("web")
    assert writer.data_version() != before


async def test_mariadb_vouches_for_nothing_before_a_poll_or_long_after_one(
    on_mariadb: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, reader = on_mariadb
    assert reader.data_version() is None, "no poll yet: caches must not trust anything"
    await reader.poll_version()
    assert reader.data_version() is not None
    monkeypatch.setattr(gateway.store.mysql, "FRESH_SECONDS", 0.0)
    await asyncio.sleep(0.01)
    assert reader.data_version() is None, "a poll too old to vouch for now turns caching off"


async def test_the_change_watch_wakes_a_waiter_when_another_process_writes(two: tuple[Store, Store]) -> None:
    writer, reader = two
    watch = ChangeWatch(reader, interval=0.05)
    await watch.poll()
    seen = watch.generation
    assert await watch.changed_since(seen, timeout=0.2) == seen, "nothing changed: the wait times out"
    task = asyncio.create_task(watch.run())
    try:
        waiting = asyncio.create_task(watch.changed_since(seen, timeout=30))
        await writer.create_user("bob", "hash")
        assert await waiting == seen + 1
    finally:
        task.cancel()
