"""Reserved namespaces in the store, on SQLite and on MariaDB: deleting a user or a namespace
with repositories in it leaves a tombstone; ending it frees the name but keeps its moment."""

from __future__ import annotations

import time

from gateway.store import Deletion, ManifestRow, Store


async def _push(store: Store, repository: str) -> None:
    await store.index_push(ManifestRow(repository, "sha256:" + "a" * 64, "application/json", 10, None, None, None, int(time.time())), "v1")


async def test_only_the_namespaces_own_repositories_count(store: Store) -> None:
    """`_` is a LIKE wildcard and MariaDB compares case-insensitively: neither may count a
    neighbour's repositories."""
    for name in ("a_b/app", "a_b/lib", "axb/app", "a_bc/app", "a_b-x/app", "a_b"):
        await _push(store, name)
    assert await store.namespace_repositories("a_b") == ["a_b/app", "a_b/lib"]
    assert await store.namespace_repositories("a") == []


async def test_deleting_a_user_with_repositories_reserves_their_name(store: Store) -> None:
    await store.create_user("bob", "h")
    await store.create_namespace("bob", None, "public")
    await _push(store, "bob/app")
    await _push(store, "bob/tools/cli")
    deletion = await store.delete_user("bob", deleted_by="root")
    assert deletion.deleted and deletion.reserved is not None
    assert (deletion.reserved.name, deletion.reserved.repositories, deletion.reserved.former_kind) == ("bob", 2, "user")
    assert deletion.reserved.deleted_by == "root"
    assert await store.get_user("bob") is None and await store.get_namespace("bob") is None
    assert await store.get_tombstone("bob") == deletion.reserved
    assert [t.name for t in await store.list_tombstones()] == ["bob"]
    assert await store.reservations_since(0) == {"bob": deletion.reserved.deleted_at}


async def test_deleting_a_user_or_namespace_without_repositories_reserves_nothing(store: Store) -> None:
    await store.create_user("carol", "h")
    await store.create_team("devs")
    await store.create_namespace("empty", "devs", "private")
    assert await store.delete_user("carol", deleted_by="root") == Deletion(True)
    assert await store.delete_user("nobody", deleted_by="root") == Deletion(False)
    assert (await store.delete_namespace("empty", deleted_by="root")).reserved is None
    assert await store.list_tombstones() == []


async def test_a_team_namespace_is_reserved_but_a_personal_ones_settings_are_not(store: Store) -> None:
    await store.create_team("devs")
    await store.create_namespace("shared", "devs", "protected")
    await store.create_user("dan", "h")
    await store.create_namespace("dan", None, "public")
    for name in ("shared/app", "dan/app"):
        await _push(store, name)
    team_deletion = await store.delete_namespace("shared", deleted_by="owner1")
    assert team_deletion.reserved is not None
    assert (team_deletion.reserved.former_kind, team_deletion.reserved.former_owner) == ("team", "devs")
    personal = await store.delete_namespace("dan", deleted_by="dan")
    assert personal.deleted and personal.reserved is None  # dan still owns it
    assert not (await store.delete_namespace("shared", deleted_by="owner1")).deleted


async def test_a_retried_deletion_reuses_the_tombstone_and_ending_it_frees_the_name(store: Store) -> None:
    await store.create_user("erin", "h")
    await _push(store, "erin/app")
    first = await store.reserve_if_occupied("erin", "user", "erin", "root")  # as a deletion that failed after it
    deletion = await store.delete_user("erin", deleted_by="root")
    assert first is not None and deletion.reserved == first
    assert await store.end_tombstone("erin", "released", "root")
    assert not await store.end_tombstone("erin", "released", "root")
    assert await store.get_tombstone("erin") is None and await store.list_tombstones() == []
    # Ended, its moment still voids tokens issued before it.
    assert await store.reservations_since(0) == {"erin": first.deleted_at}
    assert await store.reservations_since(first.deleted_at + 1) == {}


async def test_forgetting_a_repository_drops_it_from_the_index(store: Store) -> None:
    await _push(store, "gone/app")
    await _push(store, "gone/lib")
    assert await store.manifest_digests("gone/app") == ["sha256:" + "a" * 64]
    await store.forget_repository("gone/app")
    assert await store.namespace_repositories("gone") == ["gone/lib"]
    assert await store.manifest_digests("gone/app") == [] and await store.list_tags("gone/app") == []
