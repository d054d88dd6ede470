"""Namespace quotas in the store, on SQLite and on MariaDB: usage is the sum of the distinct blobs
the namespace's existing manifests hold, whatever repository holds them, and only while the
manifest exists."""

from __future__ import annotations

from gateway.store import ManifestRow, Store
from tests.support.stores import counted

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(mark: str) -> str:
    return "sha256:" + mark * 64


async def _push(store: Store, repository: str, manifest: str, blobs: dict[str, int]) -> None:
    namespace = repository.partition("/")[0] if "/" in repository else ""
    await store.add_manifest_blobs(namespace, repository, manifest, blobs)
    await store.index_push(ManifestRow(repository, manifest, MANIFEST, 100, None, None, None, 1), "")


async def test_usage_counts_each_blob_of_a_namespace_once_across_repositories(store: Store) -> None:
    shared, own, other = _digest("a"), _digest("b"), _digest("c")
    await _push(store, "team/app", _digest("1"), {shared: 1000, own: 10})
    await _push(store, "team/web", _digest("2"), {shared: 1000, other: 5})
    await _push(store, "elsewhere/app", _digest("3"), {shared: 1000, own: 10})
    assert await store.namespace_usage("team") == 1015
    assert await store.namespace_usage("elsewhere") == 1010
    assert await store.namespace_usage("nobody") == 0
    assert await store.known_blob_sizes("team", [shared, _digest("d"), other]) == {shared: 1000, other: 5}


async def test_a_deleted_manifest_stops_counting_and_a_repush_counts_again(store: Store) -> None:
    await _push(store, "team/app", _digest("1"), {_digest("a"): 700, _digest("b"): 30})
    await _push(store, "team/app", _digest("2"), {_digest("a"): 700})
    await store.index_delete_manifest("team/app", _digest("1"))
    assert await store.namespace_usage("team") == 700
    assert await store.known_blob_sizes("team", [_digest("b")]) == {}
    await store.index_delete_manifest("team/app", _digest("2"))
    assert await store.namespace_usage("team") == 0
    await store.index_push(ManifestRow("team/app", _digest("1"), MANIFEST, 100, None, None, None, 2), "v1")
    assert await store.namespace_usage("team") == 730
    await store.forget_repository("team/app")
    assert await store.namespace_usage("team") == 0
    assert await store.child_blob_sizes("team/app", [_digest("1")]) == {_digest("a"): 700, _digest("b"): 30}


async def test_child_blobs_and_a_recount_replacing_what_was_recorded(store: Store) -> None:
    await _push(store, "team/app", _digest("1"), {_digest("a"): 1, _digest("b"): 2})
    await _push(store, "team/app", _digest("2"), {_digest("a"): 1, _digest("c"): 4})
    assert await store.child_blob_sizes("team/app", [_digest("1"), _digest("2"), _digest("9")]) == {
        _digest("a"): 1, _digest("b"): 2, _digest("c"): 4,
    }
    assert await store.child_blob_sizes("other/app", [_digest("1")]) == {}
    await store.replace_manifest_blobs("team", "team/app", _digest("1"), {_digest("a"): 1, _digest("b"): 20})
    assert await store.namespace_usage("team") == 25
    await store.add_manifest_blobs("team", "team/app", _digest("1"), {_digest("a"): 1, _digest("b"): 20})
    assert await store.namespace_usage("team") == 25
    await store.add_manifest_blobs("team", "team/app", _digest("2"), {_digest("e"): 100})  # indexed already: counts now
    assert await store.namespace_usage("team") == 125
    await store.add_manifest_blobs("team", "team/app", _digest("3"), {_digest("f"): 1000})  # not indexed: not yet
    assert await store.namespace_usage("team") == 125
    await store.execute("DELETE FROM manifests WHERE digest = :d", {"d": _digest("2")})  # behind the index queries' back
    await store.relive_manifest_blobs("team/app")
    assert await store.namespace_usage("team") == 21


async def test_quotas_set_lift_and_end_with_their_namespace(store: Store) -> None:
    assert await store.namespace_quota("team") is None
    await store.set_namespace_quota("team", 10 * 2**30)
    await store.set_namespace_quota("team", 2**62)
    assert await store.namespace_quota("team") == 2**62
    await store.set_namespace_quota("team", None)
    assert await store.namespace_quota("team") is None
    await store.create_team("crew")
    await store.create_namespace("crew", "crew", "private")
    await store.set_namespace_quota("crew", 5)
    assert (await store.delete_namespace("crew", deleted_by="root")).deleted
    assert await store.namespace_quota("crew") is None
    await store.create_user("alice", "h")
    await store.set_namespace_quota("alice", 7)
    await store.create_namespace("alice", None, "public")
    await store.delete_namespace("alice", deleted_by="alice")  # her settings go, the admin's quota stays
    assert await store.namespace_quota("alice") == 7
    await store.delete_user("alice", deleted_by="root")
    assert await store.namespace_quota("alice") is None


async def test_a_pages_quotas_and_usages_come_in_two_statements_as_one_by_one(store: Store) -> None:
    """The namespaces list shows each namespace's quota and usage: for a page they are read in two
    statements (a page of 100 took 200 on MariaDB, 180 ms), each the one-by-one answer."""
    shared = _digest("a")
    await _push(store, "team/app", _digest("1"), {shared: 1000, _digest("b"): 10})
    await _push(store, "team/web", _digest("2"), {shared: 1000})
    await _push(store, "ops/app", _digest("3"), {shared: 1000, _digest("c"): 7})
    await _push(store, "gone/app", _digest("4"), {_digest("d"): 99})
    await store.index_delete_manifest("gone/app", _digest("4"))
    await store.set_namespace_quota("team", 5000)
    await store.set_namespace_quota("empty", 10)
    names = ["team", "ops", "gone", "empty", "nobody", "team"]
    expected = {n: (await store.namespace_quota(n), await store.namespace_usage(n)) for n in names}
    with counted(store) as statements:
        found = await store.quotas_and_usages(names)
    assert found == expected == {
        "team": (5000, 1010), "ops": (None, 1007), "gone": (None, 0), "empty": (10, 0), "nobody": (None, 0),
    }
    assert len(statements) == 2
    assert await store.quotas_and_usages([]) == {}
