"""Facts about many namespaces from one lookup (a page of a listing) are the facts looked up one
namespace at a time: reserved, team (with and without a role), personal (with and without
settings), unowned, missing and global; for a user, another user and an anonymous caller."""

from __future__ import annotations

import time

import pytest

from gateway.auth import namespaces
from gateway.auth.namespaces import PullFilter, facts_from, namespace_facts
from gateway.auth.policy import ANONYMOUS, Identity, Rules
from gateway.auth.scopes import Scope
from gateway.store import Store
from tests.support.stores import counted

NAMESPACES = ("", "gone", "web", "ops", "alice", "bob", "carol", "loose", "nobody", "ended")


async def _world(store: Store) -> None:
    for name in ("alice", "bob", "carol"):
        await store.create_user(name, "x")
    await store.create_team("web")
    await store.create_team("ops")
    await store.set_member("web", "alice", "contributor")
    await store.create_namespace("web", "web", "private")
    await store.create_namespace("ops", "ops", "protected")
    await store.create_namespace("bob", None, "public")
    await store.create_namespace("loose", None, "public")
    now = int(time.time())
    for name, ended in (("gone", None), ("ended", now)):
        await store.execute(
            "INSERT INTO namespace_tombstones (name, deleted_at, former_kind, former_owner, deleted_by, repositories,"
            " ended_at) VALUES (:name, :at, 'team', NULL, 'root', 1, :ended)",
            {"name": name, "at": now, "ended": ended},
        )


async def test_one_lookup_gives_the_facts_of_one_lookup_per_namespace(store: Store) -> None:
    await _world(store)
    rules = Rules()
    wanted = [n for n in NAMESPACES if n]
    for identity in (Identity("alice"), Identity("carol"), ANONYMOUS, Identity("root", admin=True)):
        lookup = await store.namespace_lookup(wanted, identity.name)
        for namespace in NAMESPACES:
            expected = await namespace_facts(store, identity, namespace, rules)
            assert facts_from(lookup, identity, namespace, rules) == expected, (identity, namespace)


async def test_a_prefetched_page_is_decided_without_a_statement_per_namespace(store: Store) -> None:
    await _world(store)
    repositories = [f"{n}/app" for n in NAMESPACES if n] + ["single"]
    one_by_one = [await PullFilter(store, Identity("alice"), Rules()).allows(r) for r in repositories]
    prefetched = PullFilter(store, Identity("alice"), Rules())
    await prefetched.prefetch(repositories)
    with counted(store) as statements:
        assert [await prefetched.allows(r) for r in repositories] == one_by_one
    assert statements == []
    decided = dict(zip(repositories, one_by_one, strict=True))
    assert decided["web/app"] and decided["ops/app"] and decided["alice/app"] and decided["bob/app"]
    assert not decided["gone/app"] and not decided["carol/app"] and not decided["nobody/app"]


async def test_a_namespace_named_again_is_decided_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """An audit-log page names a popular repository many times, a list many repositories of one
    namespace: the first answer in a namespace is kept, the policy is not asked again for it (and
    the answers are those asked afresh)."""
    await _world(store)
    repositories = ["web/app", "carol/app", "web/app", "bob/app", "carol/app", "web/app", "web/other"]
    fresh = [await PullFilter(store, Identity("alice"), Rules()).allows(r) for r in repositories]
    asked: list[str] = []
    original = namespaces.grant

    def counting(identity: Identity, scopes: list[Scope], *rest: object, **named: object) -> object:
        asked.extend(scope.name for scope in scopes)
        return original(identity, scopes, *rest, **named)  # type: ignore[arg-type]

    monkeypatch.setattr(namespaces, "grant", counting)
    check = PullFilter(store, Identity("alice"), Rules())
    await check.prefetch(repositories)
    assert [await check.allows(r) for r in repositories] == fresh == [True, False, True, True, False, True, True]
    assert asked == ["web/app", "carol/app", "bob/app"], "web/other is decided with web/app"
