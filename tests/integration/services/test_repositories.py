"""Repository and tag listings as services: only what the asker may pull, paged by name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.auth.policy import Identity, TokenLimits
from gateway.services import reach, repositories
from gateway.services.context import Services
from gateway.services.errors import Forbidden, Invalid, NotFound
from gateway.store import ManifestRow
from tests.support.stores import counted

ALICE = Identity("alice")


async def _push(services: Services, repository: str, tag: str, digit: str) -> None:
    manifest = ManifestRow(repository, "sha256:" + digit * 64, "application/vnd.oci.image.manifest.v1+json", 10, None, None, None, 1)
    await services.store.index_push(manifest, tag)


@pytest.fixture
async def index(services: Services) -> Services:
    for name in ("alice", "bob"):
        await services.store.create_user(name, "x")
    await services.store.create_namespace("pub", None, "public")
    for repository in ("alice/a", "bob/secret", "pub/b", "pub/c"):
        await _push(services, repository, "latest", "c")
    await _push(services, "pub/b", "v1", "d")
    return services


async def test_only_repositories_the_asker_may_pull_are_listed_in_pages(index: Services) -> None:
    assert [r.name for r in await repositories.list_repositories(index, ALICE)] == ["alice/a", "pub/b", "pub/c"]
    assert [r.name for r in await repositories.list_repositories(index, ALICE, "alice/a", 1)] == ["pub/b"]


async def test_tags_of_a_repository_the_asker_may_pull(index: Services) -> None:
    assert [t.tag for t in await repositories.list_tags(index, ALICE, "pub/b")] == ["latest", "v1"]
    assert [t.tag for t in await repositories.list_tags(index, ALICE, "pub/b", "latest")] == ["v1"]


async def test_tags_are_refused_unknown_or_invalid(index: Services) -> None:
    with pytest.raises(Forbidden, match="you may not pull 'bob/secret'"):
        await repositories.list_tags(index, ALICE, "bob/secret")
    with pytest.raises(NotFound, match="no such repository 'pub/none'"):
        await repositories.list_tags(index, ALICE, "pub/none")
    with pytest.raises(Invalid):
        await repositories.list_tags(index, ALICE, "Pub/B")


async def test_tags_carry_their_manifests_image_size_and_platforms(services: Services) -> None:
    await services.store.create_namespace("pub", None, "public")
    image = ManifestRow("pub/img", "sha256:" + "a" * 64, "application/vnd.oci.image.manifest.v1+json", 10, None, None, None, 1, 3100)
    index = ManifestRow(
        "pub/img", "sha256:" + "b" * 64, "application/vnd.oci.image.index.v1+json", 20, None, None, None, 1,
        None, ("linux/amd64", "linux/arm64/v8"),
    )
    unknown = ManifestRow("pub/img", "sha256:" + "c" * 64, "application/vnd.oci.image.manifest.v1+json", 30, None, None, None, 1)
    for row, tag in ((image, "image"), (index, "multi"), (unknown, "old")):
        await services.store.index_push(row, tag)
    tags = {t.tag: t for t in await repositories.list_tags(services, ALICE, "pub/img")}
    assert (tags["image"].size, tags["image"].image_size, tags["image"].platforms) == (10, 3100, ())
    assert (tags["multi"].size, tags["multi"].image_size, tags["multi"].platforms) == (20, None, ("linux/amd64", "linux/arm64/v8"))
    assert (tags["old"].image_size, tags["old"].platforms) == (None, ())
    signature = ManifestRow("pub/img", "sha256:" + "d" * 64, "application/vnd.oci.image.manifest.v1+json", 5, "sig", index.digest, None, 1, 77)
    await services.store.index_push(signature, "")
    [referrer] = (await services.store.referrers_of("pub/img", [index.digest]))[index.digest]
    assert (referrer.image_size, referrer.platforms) == (77, ())
    await services.store.index_push(replace(image, pushed_at=2, image_size=4200), "image")  # pushed again: updated
    assert [t.image_size for t in await repositories.list_tags(services, ALICE, "pub/img", "", 1)] == [4200]


async def test_a_catalog_skips_a_hidden_namespace_whole_and_misses_no_neighbour(services: Services) -> None:
    """A private namespace of 450 repositories, among names that sort right around its own: the
    ones with a shorter or longer namespace ("a.b/", "a0/", "a-b/"), the global "a0" and "a" that
    sort before and after the skip key. Each page equals what the one-at-a-time rule keeps, and
    the hidden namespace costs one batch, not three."""
    store = services.store
    await store.create_namespace("a", None, "private")
    for public in ("a.b", "a0", "a-b", "b"):
        await store.create_namespace(public, None, "public")
    hidden = [f"a/app{i:03d}" for i in range(450)]
    shown = ["a-b/x", "a.b/x", "a0", "a0/x", "a1", "b/x"]
    for name in hidden + shown:
        await store.import_repository(name, 1, None, None)
    everyone = Identity("someone")
    with counted(store) as seen:
        listed = await repositories.list_repositories(services, everyone, "", 100)
    assert [r.name for r in listed] == sorted(shown) == ["a-b/x", "a.b/x", "a0", "a0/x", "a1", "b/x"]
    assert len([sql for sql in seen if "FROM repositories" in sql]) == 2, "the first batch, then one past 'a/'"
    paged: list[str] = []
    after = ""
    while page := await repositories.list_repositories(services, everyone, after, 2):
        paged += [r.name for r in page]
        after = page[-1].name
    assert paged == sorted(shown)
    found, _ = await repositories.search_repositories(services, everyone, "app", "", 10)
    assert found == []


async def test_a_visitor_who_sees_little_reads_the_rows_hidden_from_them_in_few_statements(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,500 repositories in 150 private namespaces, then 3 public ones. Made to walk, a signed-in
    user's batches grow while nothing is kept (200, 400, 800...), so the walk reads the
    repositories in 4 statements, not 8; nobody signed in reads the one public namespace alone."""
    monkeypatch.setattr(reach, "SPARSE_SHARE", 10**9)
    store = services.store
    for i in range(150):
        await store.create_namespace(f"p{i:03d}", None, "private")
        for j in range(10):
            await store.import_repository(f"p{i:03d}/r{j}", 1, None, None)
    await store.create_namespace("zz", None, "public")
    for name in ("zz/1", "zz/2", "zz/3"):
        await store.import_repository(name, 1, None, None)
    for identity, reads in ((Identity("someone"), 4), (Identity(""), 1)):
        with counted(store) as seen:
            listed = await repositories.list_repositories(services, identity, "", 100)
        assert [r.name for r in listed] == ["zz/1", "zz/2", "zz/3"]
        assert len([sql for sql in seen if "FROM repositories" in sql]) == reads
    monkeypatch.undo()
    with counted(store) as seen:
        listed = await repositories.list_repositories(services, Identity("someone"), "", 100)
    assert [r.name for r in listed] == ["zz/1", "zz/2", "zz/3"]
    reads = [sql for sql in seen if "FROM repositories" in sql]
    assert len(reads) == 3, "by namespace: zz, their own, and the global namespace's range"


async def _mixed_store(services: Services) -> list[str]:
    """Public, protected and private namespaces whose names sort around one another, a user's
    personal one, global repositories, and a big private namespace; every repository's name."""
    store = services.store
    await store.create_user("alice", "x")
    await store.create_namespace("alice", None, "private")
    for name, visibility in (
        ("a", "private"), ("a-b", "public"), ("a.b", "public"), ("a0", "public"), ("b", "protected"),
        ("c", "public"), ("c-d", "public"), ("zz", "public"), ("empty", "public"),
    ):
        await store.create_namespace(name, None, visibility)
    repositories = [f"a/app{i:03d}" for i in range(300)] + [
        "a-b/x", "a.b/x", "a.b/y/z", "a0/x", "a0", "a1", "b/x", "c/1", "c/2", "c-d/x", "zz/last", "alice/mine", "nowhere/x",
    ]
    for name in repositories:
        await store.import_repository(name, 1, None, None)
    return sorted(repositories)


async def _pages(services: Services, identity: Identity, size: int) -> list[str]:
    listed: list[str] = []
    after = ""
    while page := await repositories.list_repositories(services, identity, after, size):
        listed += [r.name for r in page]
        after = page[-1].name
    return listed


async def _one_at_a_time(services: Services, identity: Identity, every: list[str]) -> list[str]:
    from gateway.auth.namespaces import PullFilter

    return [name for name in every if await PullFilter(services.store, identity, services.rules).allows(name)]


@pytest.mark.parametrize("global_visibility", ["protected", "public"])
async def test_an_anonymous_catalog_is_read_by_public_namespace_and_equals_the_rule(
    services: Services, global_visibility: str
) -> None:
    """Nobody signed in may pull from the public namespaces alone (and the global one, when it is
    public): those are read one by one in the catalog's order, never the 300 private
    repositories, and every page size gives exactly what the one-at-a-time rule keeps."""
    every = await _mixed_store(services)
    services = replace(services, rules=replace(services.rules, global_visibility=global_visibility))
    anonymous = Identity("")
    expected = await _one_at_a_time(services, anonymous, every)
    assert ("a1" in expected) is (global_visibility == "public")
    assert "a-b/x" in expected and "b/x" not in expected and not any(n.startswith("a/") for n in expected)
    assert expected.index("c-d/x") < expected.index("c/1"), "`c-d/` sorts before `c/`, though `c` before `c-d`"
    for size in (1, 2, 3, 100):
        assert await _pages(services, anonymous, size) == expected, size
    assert await repositories.list_repositories(services, anonymous, "", 0) == []
    with counted(services.store) as seen:
        await repositories.list_repositories(services, anonymous, "", 100)
    reads = [sql for sql in seen if "FROM repositories" in sql]
    if global_visibility == "protected":
        assert len(reads) == 7, "one for each public namespace, the empty one included"
        assert all("LIKE" in sql for sql in reads), "never the whole list"


async def _sparse_mixed_store(services: Services) -> list[str]:
    """The mixed store, with a team's private namespace that carol views, and 40 more private
    namespaces without repositories: a signed-in user may pull from under a quarter of them."""
    store = services.store
    every = await _mixed_store(services)
    await store.create_user("carol", "x")
    await store.create_team("t")
    await store.set_member("t", "carol", "viewer")
    await store.create_namespace("tp", "t", "private")
    for i in range(40):
        await store.create_namespace(f"p{i:02d}", None, "private")
    for name in ("tp/one", "tp/two"):
        await store.import_repository(name, 1, None, None)
    return sorted([*every, "tp/one", "tp/two"])


@pytest.mark.parametrize("global_visibility", ["protected", "public", "private"])
async def test_a_signed_in_users_catalog_is_read_by_namespace_when_they_see_little_and_equals_the_rule(
    services: Services, monkeypatch: pytest.MonkeyPatch, global_visibility: str
) -> None:
    """A user may pull from the public and protected namespaces, their teams', their own and the
    global one unless it is private. Where that is at most a quarter of the namespaces, those are
    read one by one and the global namespace's range beside them, never the whole list; either
    way (the walk forced too), every page size gives exactly what the one-at-a-time rule keeps."""
    every = await _sparse_mixed_store(services)
    services = replace(services, rules=replace(services.rules, global_visibility=global_visibility))
    for user in (Identity("carol"), ALICE, Identity("nobody-in-particular")):
        expected = await _one_at_a_time(services, user, every)
        assert ("a1" in expected) is (global_visibility != "private")
        assert "b/x" in expected and "nowhere/x" not in expected and not any(n.startswith("a/") for n in expected)
        assert ("tp/one" in expected) is (user.name == "carol") and ("alice/mine" in expected) is (user is ALICE)
        for share in (reach.SPARSE_SHARE, 10**9):
            monkeypatch.setattr(reach, "SPARSE_SHARE", share)
            for size in (1, 2, 3, 100):
                assert await _pages(services, user, size) == expected, (user, share, size)
        monkeypatch.undo()
        with counted(services.store) as seen:
            await repositories.list_repositories(services, user, "", 100)
        reads = [sql for sql in seen if "FROM repositories" in sql]
        assert reads and all("LIKE" in sql or "in_global = 1" in sql for sql in reads), "never the whole list"


async def _search_pages(services: Services, identity: Identity, text: str, size: int) -> list[str]:
    listed: list[str] = []
    after = ""
    while True:
        page, after_next = await repositories.search_repositories(services, identity, text, after, size)
        listed += [r.name for r in page]
        if after_next is None:
            return listed
        after = after_next


@pytest.mark.parametrize("global_visibility", ["protected", "private"])
async def test_a_search_by_a_visitor_who_sees_little_reads_their_namespaces_alone_and_equals_the_rule(
    services: Services, monkeypatch: pytest.MonkeyPatch, global_visibility: str
) -> None:
    """A search reads the namespaces open to its visitor and the global namespace's range as the
    catalog does, each with the text looked for in SQL; every page size, with the walk (and the
    trigram index) forced too, gives exactly the matching names the one-at-a-time rule keeps.
    `%`, `_` and `!` are literal."""
    every = await _sparse_mixed_store(services)
    await services.store.import_repository("c/100%_!x", 1, None, None)
    every = sorted([*every, "c/100%_!x"])
    services = replace(services, rules=replace(services.rules, global_visibility=global_visibility))
    for visitor in (Identity("carol"), Identity("")):
        for text in ("x", "a", "c/", "one", "%_!", "_", "a1", "zzz"):
            expected = [n for n in await _one_at_a_time(services, visitor, every) if text in n]
            for share in (reach.SPARSE_SHARE, 10**9):
                monkeypatch.setattr(reach, "SPARSE_SHARE", share)
                for size in (1, 2, 100):
                    assert await _search_pages(services, visitor, text, size) == expected, (visitor, text, share, size)
            monkeypatch.undo()
        with counted(services.store) as seen:
            await repositories.search_repositories(services, visitor, "x", "", 100)
        reads = [sql for sql in seen if "FROM repositories" in sql or "repository_grams" in sql]
        assert reads and all(":contains" in sql for sql in reads), "never the whole list, nor the trigram index"
    monkeypatch.setattr(repositories, "MAX_NAMESPACES_READ", 2)  # carol's namespaces are more: a statement each is too many
    carol = Identity("carol")
    with counted(services.store) as seen:
        found = await _search_pages(services, carol, "one", 100)
    assert found == [n for n in await _one_at_a_time(services, carol, every) if "one" in n] == ["tp/one"]
    assert any("repository_grams" in sql for sql in seen) and not any(":contains" in sql for sql in seen)


async def test_a_user_who_may_see_much_walks_the_list(services: Services) -> None:
    """Over a quarter of the namespaces open to them: the walk reads the list itself (300 hidden
    repositories first: two batches) rather than a statement a namespace."""
    every = await _mixed_store(services)
    with counted(services.store) as seen:
        listed = await repositories.list_repositories(services, ALICE, "", 100)
    assert [r.name for r in listed] == (await _one_at_a_time(services, ALICE, every))[:100]
    reads = [sql for sql in seen if "FROM repositories" in sql]
    assert len(reads) == 2 and not any("LIKE" in sql or "in_global" in sql for sql in reads)


async def test_a_token_for_some_namespaces_lists_only_theirs_by_namespace(services: Services) -> None:
    every = await _mixed_store(services)
    token = Identity("alice", limits=TokenLimits("t1", "ci", frozenset({"alice", "c", "a"}), frozenset({"pull"})))
    expected = await _one_at_a_time(services, token, every)
    assert expected == ["alice/mine", "c/1", "c/2"]
    for size in (1, 2, 100):
        assert await _pages(services, token, size) == expected
    with counted(services.store) as seen:
        await repositories.list_repositories(services, token, "", 100)
    assert len([sql for sql in seen if "FROM repositories" in sql]) == 3, "a/ once: its first row decides it"


async def test_past_the_namespaces_read_one_by_one_the_list_goes_on_as_a_walk(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk starts where both the namespaces read and the global namespace's range had got
    to, for a signed-in user whose list merges the two."""
    every = await _sparse_mixed_store(services)
    monkeypatch.setattr(repositories, "MAX_NAMESPACES_READ", 2)
    for visitor in (Identity(""), Identity("carol")):
        expected = await _one_at_a_time(services, visitor, every)
        for size in (1, 2, 4, 100):
            assert await _pages(services, visitor, size) == expected, (visitor, size)


async def test_a_namespace_made_public_is_listed_to_anonymous_visitors_at_once(services: Services) -> None:
    """Their names are kept while the access version holds (SQLite reads it at every statement;
    MariaDB's is polled, not in this test, so nothing is kept there): a change is seen at once."""
    await _mixed_store(services)
    anonymous = Identity("")
    assert "b/x" not in [r.name for r in await repositories.list_repositories(services, anonymous)]
    with counted(services.store) as seen:
        await repositories.list_repositories(services, anonymous)
    kept = not any("visibility <> 'private'" in sql for sql in seen)
    assert kept is (services.store.dialect == "sqlite")
    await services.store.update_namespace("b", visibility="public")
    assert "b/x" in [r.name for r in await repositories.list_repositories(services, anonymous)]
    await services.store.update_namespace("c", visibility="private")
    assert "c/1" not in [r.name for r in await repositories.list_repositories(services, anonymous)]
