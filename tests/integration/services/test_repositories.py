"""Repository and tag listings as services: only what the asker may pull, paged by name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.auth.policy import Identity
from gateway.services import repositories
from gateway.services.context import Services
from gateway.services.errors import Forbidden, Invalid, NotFound
from gateway.store import ManifestRow

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
