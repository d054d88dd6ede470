"""Search and namespace pages decide a batch's visibility in a few statements: their statement
count does not grow with the store (or with how many namespaces a page names), and what they show
is exactly what the one-at-a-time rule shows (`get_namespace` for a namespace, a fresh
`PullFilter` for a repository), for every kind of visitor, page after page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from gateway.auth.namespaces import PullFilter
from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity
from gateway.services.context import Services
from gateway.services.errors import NotFound
from gateway.services.namespaces import get_namespace, list_namespaces, search_namespaces
from gateway.services.repositories import search_repositories
from gateway.store import Store
from tests.support.stores import counted

T = TypeVar("T")
VISIBILITIES = ("public", "protected", "private")
PAGE = 5
# Who looks: an admin, members of some teams (each role), a user of no team, nobody signed in.
VISITORS = {
    "admin": Identity("root", admin=True),
    "owner": Identity("user0"),
    "viewer": Identity("user1"),
    "stranger": Identity("user2"),
    "anonymous": Identity(""),
}


async def _fill(store: Store, teams: int) -> None:
    """`teams` teams with a namespace each (visibility cycling), user0 owner and user1 viewer of
    every third; users with a public personal namespace, users with none (private), ownerless
    namespaces; three repositories in each namespace, all named `...app...`."""
    users = max(4, teams // 2)
    for i in range(users):
        await store.create_user(f"user{i}", "x")
        if i % 3 == 0:
            await store.create_namespace(f"user{i}", None, "public")
    namespaces = [f"user{i}" for i in range(users)]
    for i in range(teams):
        team = f"team{i:03d}"
        await store.create_team(team)
        await store.create_namespace(team, team, VISIBILITIES[i % 3])
        if i % 3 == 0:
            await store.set_member(team, "user0", "owner")
            await store.set_member(team, "user1", "viewer")
        namespaces.append(team)
    for i in range(3):
        await store.create_namespace(f"loose{i}", None, VISIBILITIES[i])
        namespaces.append(f"loose{i}")
    rows = [f"{n}/app-{k}" for n in namespaces for k in range(3)]
    async with store.transaction():  # through the store, which indexes their names for search
        for name in rows:
            await store.import_repository(name, 1, None, None)


async def _all_pages(page: Callable[[str], Awaitable[tuple[list[T], str | None]]], key: Callable[[T], str]) -> list[str]:
    names: list[str] = []
    after: str | None = ""
    while after is not None:
        items, after = await page(after)
        names += [key(item) for item in items]
    return names


async def _visible_namespaces(services: Services, actor: Actor) -> list[str]:
    """The one-at-a-time rule: every namespace row `get_namespace` finds for the actor."""
    shown = []
    for row in await services.store.list_namespaces("", 10_000):
        try:
            await get_namespace(services, actor, row.name)
        except NotFound:
            continue
        shown.append(row.name)
    return shown


async def _pullable(services: Services, identity: Identity, contains: str) -> list[str]:
    """The one-at-a-time rule: each matching repository asked of its own fresh PullFilter."""
    rows = await services.store.search_repositories(contains, "", 10_000)
    return [r.name for r in rows if await PullFilter(services.store, identity, services.rules).allows(r.name)]


@pytest.mark.parametrize("who", list(VISITORS))
async def test_search_and_namespace_pages_show_what_the_one_at_a_time_rule_shows(services: Services, who: str) -> None:
    await _fill(services.store, 12)
    identity = VISITORS[who]
    actor = Actor.of(identity)
    repositories = await _all_pages(lambda after: search_repositories(services, identity, "app", after, PAGE), lambda r: r.name)
    assert repositories == await _pullable(services, identity, "app")
    visible = await _visible_namespaces(services, actor)
    listed = await _all_pages(lambda after: list_namespaces(services, actor, after, PAGE), lambda n: n.name)
    assert listed == visible
    found = await _all_pages(lambda after: search_namespaces(services, actor, "m0", after, PAGE), lambda n: n.name)
    assert found == [name for name in visible if "m0" in name]
    if who in ("stranger", "anonymous"):
        assert not any(name.startswith("team") and int(name[4:]) % 3 == 2 for name in listed)  # private teams
        assert not any(r.startswith(("user1/", "loose2/")) for r in repositories)  # private: no row / no team


_OPEN_NAMESPACES = "WHERE visibility <> 'private'"


def _reads_open_namespaces(sql: str) -> bool:
    """The names of the public and protected namespaces, or how many there are in all: two
    statements that a gateway runs once per access version (gateway/services/reach.py)."""
    return _OPEN_NAMESPACES in sql or sql == "SELECT COUNT(*) AS n FROM namespaces"


@pytest.mark.parametrize("who", list(VISITORS))
async def test_a_page_runs_as_many_statements_whatever_the_store_size(services: Services, who: str) -> None:
    """80 more private team namespaces that sort first (user0 owns them, one repository each):
    the first pages name five of them (admin, owner) or skip all 80 (the others), in as many
    statements as before they were there: one per batch read, a few to decide the batch."""
    store = services.store
    await _fill(store, 40)
    identity = VISITORS[who]
    actor = Actor.of(identity)
    counts: list[tuple[int, ...]] = []
    for more in (0, 80):
        for i in range(more):
            name = f"a-team{i:03d}"
            await store.create_team(name)
            await store.create_namespace(name, name, "private")
            await store.set_member(name, "user0", "owner")
            await store.import_repository(f"{name}/app", 1, None, None)
        with counted(store) as searched:
            repositories, _ = await search_repositories(services, identity, "app", "", PAGE)
        with counted(store) as listed:
            namespaces, _ = await list_namespaces(services, actor, "", PAGE)
        with counted(store) as matched:
            await search_namespaces(services, actor, "team", "", PAGE)
        assert len(repositories) == len(namespaces) == PAGE
        for seen in (searched, listed, matched):
            assert len([sql for sql in seen if _OPEN_NAMESPACES in sql]) <= 1
        counts.append(tuple(len([sql for sql in seen if not _reads_open_namespaces(sql)]) for seen in (searched, listed, matched)))
    assert counts[0] == counts[1]
    searched_n, listed_n, matched_n = counts[0]
    assert searched_n <= 6  # the counts of the text's trigrams, the batch, then the namespaces' rows, reservations, users, roles
    assert listed_n <= 2 and matched_n <= 2  # the batch, then the roles of its teams
