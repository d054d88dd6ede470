"""Repository and tag listings as services: only what the asker may pull, paged by name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.auth.policy import Identity
from gateway.services import repositories
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


async def test_a_visitor_who_sees_little_reads_the_rows_hidden_from_them_in_few_statements(services: Services) -> None:
    """1,500 repositories in 150 private namespaces, then 3 public ones: the batches grow while
    nothing is kept (200, 400, 800...), so the walk reads the repositories in 4 statements, not 8."""
    store = services.store
    for i in range(150):
        await store.create_namespace(f"p{i:03d}", None, "private")
        for j in range(10):
            await store.import_repository(f"p{i:03d}/r{j}", 1, None, None)
    await store.create_namespace("zz", None, "public")
    for name in ("zz/1", "zz/2", "zz/3"):
        await store.import_repository(name, 1, None, None)
    for identity in (Identity(""), Identity("someone")):
        with counted(store) as seen:
            listed = await repositories.list_repositories(services, identity, "", 100)
        assert [r.name for r in listed] == ["zz/1", "zz/2", "zz/3"]
        assert len([sql for sql in seen if "FROM repositories" in sql]) == 4
