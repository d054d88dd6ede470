"""The namespace lookup cache's rules of its own (gateway/store/lookup_cache.py): entries serve
only the version they were read on, nothing is kept without a version, and each table stays
within its bound by starting over when it would grow past it."""

from __future__ import annotations

from gateway.store import Namespace, OpenNamespaces
from gateway.store.lookup_cache import LookupCache, NameFacts


def _facts(*names: str) -> dict[str, NameFacts]:
    return {name: NameFacts(Namespace(name, name, "public", 0), False, False) for name in names}


def test_entries_serve_only_the_version_they_were_read_on() -> None:
    cache = LookupCache()
    cache.keep(1, _facts("web"), [(("alice", "web"), "owner"), (("bob", "web"), None)])
    assert set(cache.names(1)) == {"web"} and cache.roles(1) == {("alice", "web"): "owner", ("bob", "web"): None}
    assert cache.names(2) == {} and cache.roles(2) == {} and cache.names(None) == {}
    cache.keep(2, _facts("ops"), [])
    assert set(cache.names(2)) == {"ops"} and cache.roles(2) == {}
    assert cache.names(1) == {}, "a newer version dropped the older entries"


def test_nothing_is_kept_without_a_version() -> None:
    cache = LookupCache()
    cache.keep(None, _facts("web"), [(("alice", "web"), "owner")])
    assert cache.names(None) == {} and cache.roles(None) == {}


def test_a_full_table_starts_over_and_stays_within_its_bound() -> None:
    cache = LookupCache(max_names=3, max_roles=2)
    cache.keep(1, _facts("a", "b"), [(("alice", "a"), "owner"), (("alice", "b"), None)])
    cache.keep(1, _facts("c"), [])
    assert set(cache.names(1)) == {"a", "b", "c"}
    cache.keep(1, _facts("d"), [(("bob", "a"), None)])
    assert set(cache.names(1)) == {"d"} and cache.roles(1) == {("bob", "a"): None}
    cache.keep(1, _facts("e", "f", "g", "h"), [])  # more than the bound at once: not kept at all
    assert cache.names(1) == {} and cache.roles(1) == {("bob", "a"): None}


def _open(*public: str) -> OpenNamespaces:
    return OpenNamespaces(public, (), len(public))


def test_the_open_namespaces_serve_only_their_version_and_a_new_version_drops_it() -> None:
    cache = LookupCache(max_names=3)
    assert cache.open(1) is None
    cache.keep_open(1, _open("a", "b"))
    assert cache.open(1) == _open("a", "b") and cache.open(2) is None and cache.open(None) is None
    cache.keep(2, _facts("web"), [])
    assert cache.open(2) is None and cache.open(1) is None, "lookups read on a newer version dropped them"
    cache.keep_open(None, _open("a"))
    assert cache.open(None) is None
    cache.keep_open(2, _open("a", "b", "c", "d"))
    assert cache.open(2) is None, "more namespaces than the bound are not kept"
    assert set(cache.names(2)) == {"web"}, "keeping the open namespaces kept the lookups of the same version"
