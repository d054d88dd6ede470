"""Deleting one tag as a service, against the real registry 2.8: the other tags of the manifest
stay with the very same bytes, the only tag leaves the manifest by digest, the repository's lock
holds manifest writes and a job cut short is finished; immutable tags are refused."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from yarl import URL

from gateway.auth.policy import Identity
from gateway.registry.purge import Actor as DeleteRecorder
from gateway.registry.purge import Upstream, delete_upstream
from gateway.registry.upstream_manifests import get_manifest, tag_digests
from gateway.services.context import Services
from gateway.services.errors import Forbidden, Invalid, NotFound
from gateway.services.immutable import immutable_pattern, parse_patterns
from gateway.services.tags import delete_tag, finish_expired, wait_for_tag_deletion
from gateway.store import ManifestRow
from tests.support.images import OCI_MANIFEST, push_image
from tests.support.processes import Registry

ALICE, BOB, ADMIN = Identity("alice"), Identity("bob"), Identity("root", admin=True)


@pytest.fixture
async def upstream(registry: Registry) -> AsyncIterator[Upstream]:
    async with aiohttp.ClientSession() as session:
        yield Upstream(session, URL(registry.url), lambda repository: {})


@pytest.fixture
async def alice(services: Services) -> Services:
    """alice's public personal namespace; bob is another user."""
    for user in ("alice", "bob"):
        await services.store.create_user(user, "x")
    await services.store.create_namespace("alice", None, "public")
    return services


async def _tagged(upstream: Upstream, services: Services, *tags: str) -> tuple[str, str]:
    """A new repository in alice/ with one image under each of `tags` (indexed as pushed);
    returns (repository, digest)."""
    repository = f"alice/t{uuid.uuid4().hex[:10]}"
    digest = ""
    for tag in tags:
        digest = await push_image(upstream.session, str(upstream.origin), repository, tag, {}, seed=repository)
        await services.store.index_push(ManifestRow(repository, digest, OCI_MANIFEST, 1, None, None, None, 1), tag)
    return repository, digest


def recorder(name: str, deleted: list[tuple[str, str]] | None = None) -> DeleteRecorder:
    return DeleteRecorder(name, "127.0.0.1", "test", lambda r, d: (deleted if deleted is not None else []).append((r, d)))


async def test_one_of_two_tags_goes_the_other_keeps_its_bytes_and_the_last_leaves_the_digest(
    alice: Services, upstream: Upstream
) -> None:
    repository, digest = await _tagged(upstream, alice, "v1", "latest")
    before = await get_manifest(upstream, repository, "latest")
    deleted: list[tuple[str, str]] = []
    done = await delete_tag(alice, ALICE, repository, "v1", upstream, recorder("alice", deleted))
    assert (done.digest, done.kept) == (digest, ("latest",))
    assert await tag_digests(upstream, repository) == {"latest": digest}
    after = await get_manifest(upstream, repository, "latest")
    assert before is not None and after == before
    store = alice.store
    assert [t.tag for t in await store.list_tags(repository)] == ["latest"]
    assert await store.manifest_digests(repository) == [digest]
    events = await store.list_events(repository=repository, action="delete", limit=10)
    assert [(e.body["actor"]["name"], e.body["target"]["tag"], e.body["target"]["digest"]) for e in events] == [
        ("alice", "v1", digest)
    ]
    assert await store.list_events(repository=repository, action="push", limit=10) == []
    assert deleted == [(repository, digest)]
    assert await store.get_tag_deletion(repository) is None

    await delete_tag(alice, ADMIN, repository, "latest", upstream, recorder("root"))
    assert await tag_digests(upstream, repository) == {}
    kept = await get_manifest(upstream, repository, digest)
    assert kept == before, "the only tag deleted, the manifest stays by digest"
    assert await store.list_tags(repository) == []
    with pytest.raises(NotFound, match="no such tag 'latest'"):
        await delete_tag(alice, ADMIN, repository, "latest", upstream, recorder("root"))
    assert await store.get_tag_deletion(repository) is None


async def test_refusals_change_nothing(alice: Services, upstream: Upstream) -> None:
    repository, digest = await _tagged(upstream, alice, "v1", "v1.0")
    with pytest.raises(Forbidden, match="may not delete"):
        await delete_tag(alice, BOB, repository, "v1", upstream, recorder("bob"))
    with pytest.raises(Invalid, match="not a valid tag"):
        await delete_tag(alice, ALICE, repository, "-bad", upstream, recorder("alice"))
    await alice.store.update_namespace("alice", visibility="private")
    with pytest.raises(NotFound, match="no such repository"):
        await delete_tag(alice, BOB, repository, "v1", upstream, recorder("bob"))
    await alice.store.update_namespace("alice", immutable_tags=("v*",))
    with pytest.raises(Forbidden, match=r"tag 'v1' of .* is immutable \(pattern 'v\*' of namespace 'alice'\)"):
        await delete_tag(alice, ADMIN, repository, "v1", upstream, recorder("root"))
    assert await tag_digests(upstream, repository) == {"v1": digest, "v1.0": digest}
    assert await alice.store.list_events(action="delete", limit=10) == []


async def test_a_job_cut_short_after_the_delete_is_finished_by_whoever_finds_it(alice: Services, upstream: Upstream) -> None:
    """The process died after deleting by digest: the journal puts the other tags back."""
    repository, digest = await _tagged(upstream, alice, "a", "b", "c")
    manifest = await get_manifest(upstream, repository, "a")
    assert manifest is not None
    store = alice.store
    past = int(time.time() * 1000) - 1
    assert await store.lock_tag_deletion(repository, "a", "dead", "alice", past)
    assert await store.record_tag_deletion(repository, "dead", past, digest, manifest.media_type, manifest.body, ["b", "c"])
    assert await delete_upstream(upstream, repository, digest)
    assert await tag_digests(upstream, repository) == {}
    assert await finish_expired(store, upstream, recorder("sweeper")) == 1
    assert await tag_digests(upstream, repository) == {"b": digest, "c": digest}
    assert await get_manifest(upstream, repository, "b") == manifest
    assert await store.get_tag_deletion(repository) is None
    events = await store.list_events(repository=repository, action="delete", limit=10)
    assert [(e.body["actor"]["name"], e.body["target"]["tag"]) for e in events] == [("alice", "a")]


async def test_manifest_writes_wait_for_the_lock(alice: Services, upstream: Upstream) -> None:
    store = alice.store
    repository = f"alice/t{uuid.uuid4().hex[:10]}"
    assert await wait_for_tag_deletion(store, repository, upstream, recorder("x"))
    assert await store.lock_tag_deletion(repository, "v1", "live", "alice", int(time.time() * 1000) + 60_000)
    assert not await wait_for_tag_deletion(store, repository, upstream, recorder("x"), deadline=time.monotonic() + 0.2)
    assert not await store.lock_tag_deletion(repository, "v2", "other", "bob", int(time.time() * 1000) + 60_000)
    await store.end_tag_deletion(repository, "live")
    assert await wait_for_tag_deletion(store, repository, upstream, recorder("x"), deadline=time.monotonic())


def test_patterns_parse_and_match() -> None:
    assert parse_patterns(" v*, release-*,,v*") == ("v*", "release-*")
    assert parse_patterns("") == ()
    assert immutable_pattern(("release-*", "v[0-9]*"), "v1.2") == "v[0-9]*"
    assert immutable_pattern(("v*",), "V1") is None
    assert immutable_pattern(("v*",), "latest") is None
    for bad in ("v/*", "a b", "x" * 129, ",".join(["v"] * 33 + ["w" + str(i) for i in range(33)])):
        with pytest.raises(Invalid):
            parse_patterns(bad)
