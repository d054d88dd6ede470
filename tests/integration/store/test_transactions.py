"""`store.transaction()`: all or nothing, its own statements only, on SQLite and on MariaDB."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from gateway.store import ManifestRow, Store, StoreUnavailable


class Boom(Exception):
    """The failure a test injects."""


def fail_at(store: Store, fragment: str) -> None:
    """Make the store's next statement containing `fragment` fail, as a lost connection would."""
    real: Callable[..., Awaitable[int]] = store.execute

    async def execute(sql: str, params: Mapping[str, Any] | None = None) -> int:
        if fragment in sql:
            raise StoreUnavailable(f"injected failure at {fragment!r}")
        return await real(sql, params)

    store.execute = execute  # type: ignore[method-assign]


async def test_a_failed_block_leaves_nothing_and_a_finished_one_everything(store: Store) -> None:
    with pytest.raises(Boom):
        async with store.transaction():
            await store.create_team("web")
            await store.create_user("alice", "hash")
            raise Boom
    assert await store.get_team("web") is None and await store.get_user("alice") is None
    async with store.transaction():
        await store.create_team("web")
        async with store.transaction():  # a block inside joins the outer one
            await store.create_user("alice", "hash")
    assert await store.get_team("web") is not None and await store.get_user("alice") is not None


async def test_another_tasks_statements_never_join_a_transaction(store: Store) -> None:
    inside = asyncio.Event()
    outside_done = asyncio.Event()

    async def outsider() -> None:
        await inside.wait()
        await store.create_team("ops")
        outside_done.set()

    task = asyncio.create_task(outsider())
    with pytest.raises(Boom):
        async with store.transaction():
            await store.create_team("web")
            inside.set()
            await asyncio.sleep(0)  # let the outsider send its statement while the transaction is open
            raise Boom
    await asyncio.wait_for(task, 30)
    assert outside_done.is_set()
    assert await store.get_team("ops") is not None, "the other task's write was rolled back with the transaction"
    assert await store.get_team("web") is None


async def test_a_user_deletion_failing_half_way_changes_nothing(store: Store) -> None:
    await store.create_user("alice", "hash")
    await store.create_team("web")
    await store.set_member("web", "alice", "owner")
    await store.create_namespace("alice", None, "public")
    await store.add_refresh_token("r1", "alice", "svc", "docker")
    fail_at(store, "DELETE FROM users")
    with pytest.raises(StoreUnavailable):
        await store.delete_user("alice", deleted_by="admin")
    assert await store.get_user("alice") is not None
    assert await store.get_role("web", "alice") == "owner"
    namespace = await store.get_namespace("alice")
    assert namespace is not None and namespace.visibility == "public"
    refresh = await store.get_refresh_token("r1")
    assert refresh is not None and refresh.revoked_at is None
    assert await store.revoked_subjects(0) == {}


async def test_a_team_deletion_failing_half_way_changes_nothing(store: Store) -> None:
    await store.create_user("alice", "hash")
    await store.create_team("web")
    await store.set_member("web", "alice", "owner")
    await store.create_namespace("web__tools", "web", "private")
    fail_at(store, "DELETE FROM teams")
    with pytest.raises(StoreUnavailable):
        await store.delete_team("web")
    assert await store.get_role("web", "alice") == "owner"
    namespace = await store.get_namespace("web__tools")
    assert namespace is not None and namespace.team == "web"


async def test_indexing_a_push_failing_half_way_indexes_nothing(store: Store) -> None:
    manifest = ManifestRow("web/app", "sha256:" + "a" * 64, "application/vnd.oci.image.manifest.v1+json", 10, None, None, {}, 1000)
    fail_at(store, "INSERT INTO tags")
    with pytest.raises(StoreUnavailable):
        await store.index_push(manifest, "v1")
    assert await store.manifest_digests("web/app") == []
    assert [r.name for r in await store.list_repositories()] == []
