"""What `namespace_lookup` read, kept per data version (gateway/store/lookup_cache.py), on both
stores, with two stores on one database as two instances: a batch looked up again reads nothing,
only names and roles not kept are read, a change made by the other process is seen as soon as its
version moves (at once on SQLite, at the next poll on MariaDB), a change committed while a lookup
reads is seen by the next one, a lookup inside a transaction reads the store and keeps nothing,
and nothing is kept while the version cannot be vouched for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import gateway.store.mysql
from gateway.store import NamespaceLookup, Store
from tests.support.stores import counted

NAMES = ["web", "ops", "alice", "gone", "loose", "nobody"]


@pytest.fixture
async def two(two: tuple[Store, Store]) -> tuple[Store, Store]:
    """The writer (another instance, or an admin's CLI) and the reader (an instance whose lists
    look namespaces up), on each store; the world below written by the writer."""
    writer, reader = two
    await _world(writer)
    await reader.poll_version()  # what the change watch does every 0.25 s
    return writer, reader


@pytest.fixture
async def on_mariadb(on_mariadb: tuple[Store, Store]) -> tuple[Store, Store]:
    await _world(on_mariadb[0])
    return on_mariadb


async def _reserve(store: Store, name: str) -> None:
    await store.execute(
        "INSERT INTO namespace_tombstones (name, deleted_at, former_kind, former_owner, deleted_by, repositories)"
        " VALUES (:name, :at, 'team', NULL, 'root', 1)",
        {"name": name, "at": int(time.time())},
    )


async def _world(store: Store) -> None:
    """Teams web (alice contributes) and ops, alice's and bob's own names, an unowned public
    namespace, a reserved name, and a name that is nothing."""
    for name in ("alice", "bob"):
        await store.create_user(name, "x")
    await store.create_team("web")
    await store.create_team("ops")
    await store.set_member("web", "alice", "contributor")
    await store.create_namespace("web", "web", "public")
    await store.create_namespace("ops", "ops", "protected")
    await store.create_namespace("loose", None, "public")
    await _reserve(store, "gone")


async def _looked_up(store: Store, username: str = "alice", names: list[str] = NAMES) -> tuple[NamespaceLookup, int]:
    """The lookup, and how many statements it read with."""
    with counted(store) as statements:
        lookup = await store.namespace_lookup(names, username)
    return lookup, len(statements)


async def test_a_second_lookup_of_the_same_namespaces_reads_nothing(two: tuple[Store, Store]) -> None:
    _, reader = two
    first, read = await _looked_up(reader)
    assert read == 4  # rows, reserved, users, alice's roles
    again, read_again = await _looked_up(reader)
    assert (again, read_again) == (first, 0)
    assert again.rows["web"].visibility == "public" and again.reserved == {"gone"}
    assert again.users == {"alice"} and again.roles == {"web": "contributor"}


async def test_only_namespaces_not_kept_are_read(two: tuple[Store, Store]) -> None:
    _, reader = two
    await _looked_up(reader, names=["web", "alice"])
    with counted(reader) as statements:
        lookup = await reader.namespace_lookup(["web", "alice", "bob", "ops"], "alice")
    assert len(statements) == 4
    assert all("IN (:n0, :n1)" in sql for sql in statements[:3]), statements  # bob and ops, not web and alice
    assert "IN (:t0)" in statements[3]  # the role in ops alone: web's is kept
    assert sorted(lookup.rows) == ["ops", "web"] and lookup.rows["ops"].visibility == "protected"
    assert (lookup.reserved, lookup.users, lookup.roles) == (set(), {"alice", "bob"}, {"web": "contributor"})


async def test_another_user_reads_only_their_roles(two: tuple[Store, Store]) -> None:
    _, reader = two
    await _looked_up(reader, "alice")
    with counted(reader) as statements:
        lookup = await reader.namespace_lookup(NAMES, "bob")
    assert len(statements) == 1 and "team_members" in statements[0]
    assert lookup.roles == {} and lookup.users == {"alice"}
    assert (await _looked_up(reader, "bob"))[1] == 0


async def _seen_after_move(reader: Store) -> NamespaceLookup:
    await reader.poll_version()
    return (await _looked_up(reader))[0]


async def test_a_namespace_made_private_by_another_process_is_seen_after_its_version_moves(
    two: tuple[Store, Store],
) -> None:
    writer, reader = two
    assert (await _looked_up(reader))[0].rows["web"].visibility == "public"
    assert await writer.update_namespace("web", visibility="private")
    assert (await _seen_after_move(reader)).rows["web"].visibility == "private"


CHANGES: dict[str, tuple[Callable[[Store], Awaitable[Any]], Callable[[NamespaceLookup], bool]]] = {
    "member-removed": (lambda s: s.remove_member("web", "alice"), lambda lookup: "web" not in lookup.roles),
    "member-added": (lambda s: s.set_member("ops", "alice", "owner"), lambda lookup: lookup.roles.get("ops") == "owner"),
    "name-reserved": (lambda s: _reserve(s, "nobody"), lambda lookup: "nobody" in lookup.reserved),
    "user-created": (lambda s: s.create_user("nobody", "x"), lambda lookup: "nobody" in lookup.users),
    "namespace-deleted": (lambda s: s.delete_namespace("loose", deleted_by="root"), lambda lookup: "loose" not in lookup.rows),
    "namespace-moved": (
        lambda s: s.update_namespace("ops", team="web"), lambda lookup: lookup.rows["ops"].team == "web"
        and lookup.roles == {"web": "contributor"}
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_each_change_made_by_another_process_is_seen_after_its_version_moves(
    two: tuple[Store, Store], change: str
) -> None:
    writer, reader = two
    make, seen = CHANGES[change]
    assert not seen((await _looked_up(reader))[0])
    await make(writer)
    assert seen(await _seen_after_move(reader))


async def test_a_change_committed_while_a_lookup_reads_is_seen_by_the_next_one(
    two: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows are read before the change and the rest after it: that lookup may answer the old
    row, but it must not be kept as valid for the version after the change."""
    writer, reader = two
    original = reader.fetch_all
    changed = False

    async def changing_after_the_rows(sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        nonlocal changed
        rows = await original(sql, params)
        if not changed and "FROM namespaces WHERE name IN" in sql:
            changed = True
            assert await writer.update_namespace("web", visibility="private")
            await reader.poll_version()
        return rows

    monkeypatch.setattr(reader, "fetch_all", changing_after_the_rows)
    assert (await reader.namespace_lookup(NAMES, "alice")).rows["web"].visibility == "public"
    assert changed
    assert (await reader.namespace_lookup(NAMES, "alice")).rows["web"].visibility == "private"


async def test_a_lookup_inside_a_transaction_reads_the_store(two: tuple[Store, Store]) -> None:
    """Its own uncommitted write is seen, and what it read is not kept: rolled back, the write
    is gone and the next lookup answers as before it."""
    _, reader = two
    await _looked_up(reader)
    with pytest.raises(RuntimeError):
        async with reader.transaction():
            assert await reader.update_namespace("web", visibility="private")
            lookup, read = await _looked_up(reader)
            assert (lookup.rows["web"].visibility, read) == ("private", 4)
            raise RuntimeError("rolled back")
    lookup, read = await _looked_up(reader)
    assert lookup.rows["web"].visibility == "public"
    assert read == 0  # the version did not move: what was kept before the transaction serves


async def test_with_no_vouched_version_every_lookup_reads_the_store(
    two: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, reader = two
    monkeypatch.setattr(reader, "access_version", lambda: None)
    first, read = await _looked_up(reader)
    again, read_again = await _looked_up(reader)
    assert (again, read, read_again) == (first, 4, 4)


async def test_mariadb_keeps_nothing_before_its_first_poll_or_once_the_poll_is_stale(
    on_mariadb: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = on_mariadb
    assert [(await _looked_up(reader))[1] for _ in range(2)] == [4, 4]  # never polled
    await reader.poll_version()
    assert [(await _looked_up(reader))[1] for _ in range(2)] == [4, 0]
    monkeypatch.setattr(gateway.store.mysql, "FRESH_SECONDS", 0.0)
    await asyncio.sleep(0.01)
    assert await writer.update_namespace("web", visibility="private")  # and no poll since: the lookup must read
    lookup, read = await _looked_up(reader)
    assert (lookup.rows["web"].visibility, read) == ("private", 4)
