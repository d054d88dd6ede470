"""The manifest cache on its own: bounded, digest-checked, per repository, forgetting deletes;
tags only while the store's data version is the one they were seen at."""

from __future__ import annotations

import hashlib

import pytest

from gateway.registry import manifest_cache
from gateway.registry.manifest_cache import ManifestCache, accepted, cacheable_request, named
from gateway.registry.routes import Route

MEDIA = "application/vnd.oci.image.manifest.v1+json"


def _manifest(n: int) -> tuple[bytes, str]:
    body = f'{{"schemaVersion":2,"n":{n}}}'.encode()
    return body, "sha256:" + hashlib.sha256(body).hexdigest()


def test_keeps_a_manifest_per_repository_only() -> None:
    cache = ManifestCache()
    body, digest = _manifest(1)
    assert cache.put("alice/app", digest, body, MEDIA, cache.generation)
    entry = cache.get("alice/app", digest)
    assert entry is not None and entry.body == body
    assert entry.headers(digest) == {"Content-Type": MEDIA, "Docker-Content-Digest": digest, "Etag": f'"{digest}"'}
    assert cache.get("bob/app", digest) is None, "a digest in one repository says nothing about another"


def test_refuses_bytes_that_do_not_match_the_digest() -> None:
    cache = ManifestCache()
    body, _ = _manifest(1)
    _, other = _manifest(2)
    assert not cache.put("alice/app", other, body, MEDIA, cache.generation)
    assert cache.get("alice/app", other) is None


def test_a_delete_evicts_and_a_fetch_that_raced_it_is_not_kept() -> None:
    cache = ManifestCache()
    body, digest = _manifest(1)
    cache.put("alice/app", digest, body, MEDIA, cache.generation)
    started = cache.generation  # a GET misses and asks the registry...
    cache.deleted("alice/app", digest)  # ...while a DELETE passes through
    assert cache.get("alice/app", digest) is None
    assert not cache.put("alice/app", digest, body, MEDIA, started)
    assert cache.put("alice/app", digest, body, MEDIA, cache.generation)


def test_bounded_by_entries_and_bytes_dropping_the_least_recently_used() -> None:
    cache = ManifestCache(max_entries=3, max_bytes=10_000)
    digests = []
    for n in range(3):
        body, digest = _manifest(n)
        cache.put("r/a", digest, body, MEDIA, cache.generation)
        digests.append(digest)
    assert cache.get("r/a", digests[0]) is not None  # now the most recently used
    body, digest = _manifest(3)
    cache.put("r/a", digest, body, MEDIA, cache.generation)
    assert len(cache) == 3
    assert cache.get("r/a", digests[1]) is None
    assert cache.get("r/a", digests[0]) is not None
    small = ManifestCache(max_bytes=2 * len(body))
    for n in range(5):
        body, digest = _manifest(n)
        small.put("r/a", digest, body, MEDIA, small.generation)
    assert len(small) == 2


def test_only_plain_gets_and_heads_of_manifests_are_served_from_memory() -> None:
    _, digest = _manifest(1)
    by_digest = Route("manifest", "alice/app", digest)
    assert cacheable_request("GET", by_digest, {})
    assert cacheable_request("HEAD", by_digest, {})
    assert cacheable_request("GET", Route("manifest", "alice/app", "v1"), {})
    assert not cacheable_request("GET", Route("manifest", "alice/app", "v1"), {"Range": "bytes=0-1"})
    assert not cacheable_request("PUT", by_digest, {})
    assert not cacheable_request("GET", Route("blob", "alice/app", digest), {})
    assert not cacheable_request("GET", by_digest, {"If-None-Match": f'"{digest}"'})


def test_oci_manifests_only_for_clients_that_accept_them_like_registry_2_8() -> None:
    docker = "application/vnd.docker.distribution.manifest.v2+json"
    assert accepted(MEDIA, [f"{docker}, {MEDIA}; q=0.5"])
    assert accepted(MEDIA, [docker, MEDIA])
    assert not accepted(MEDIA, [docker])
    assert not accepted(MEDIA, [])
    assert not accepted(MEDIA, ["*/*"])
    assert accepted(docker, [])


def test_a_docker_manifest_by_tag_only_for_clients_that_name_its_type() -> None:
    docker = "application/vnd.docker.distribution.manifest.v2+json"
    assert named(docker, [f"{MEDIA}, {docker};q=0.9"])
    assert not named(docker, []), "registry 2.8 rewrites it to schema 1 for such a client"
    assert not named(docker, ["*/*"])


def test_a_tag_names_its_digest_only_at_the_store_version_it_was_seen_at() -> None:
    cache = ManifestCache()
    body, digest = _manifest(1)
    fill = cache.generation
    assert not cache.put_tag("alice/app", "v1", digest, b"v1", fill), "only for a digest whose manifest is kept"
    cache.put("alice/app", digest, body, MEDIA, fill)
    assert cache.put_tag("alice/app", "v1", digest, b"v1", fill)
    assert cache.tag("alice/app", "v1", b"v1") == digest
    assert cache.tag("alice/app", "v1", b"v2") is None, "any commit anywhere may have moved the tag"
    assert cache.tag("bob/app", "v1", b"v1") is None
    assert cache.tag("alice/app", "v1", None) is None
    assert not cache.put_tag("alice/app", "v2", digest, None, fill), "a store that cannot tell its version keeps no tags"


def test_a_push_or_delete_here_forgets_the_repositorys_tags_and_a_racing_fill() -> None:
    cache = ManifestCache()
    one, first = _manifest(1)
    two, second = _manifest(2)
    for body, digest in ((one, first), (two, second)):
        cache.put("alice/app", digest, body, MEDIA, cache.generation)
    cache.put("bob/app", first, one, MEDIA, cache.generation)
    cache.put_tag("alice/app", "v1", first, b"v", cache.generation)
    cache.put_tag("bob/app", "v1", first, b"v", cache.generation)
    started = cache.generation  # a GET by tag misses and asks the registry...
    cache.tags_changed("alice/app")  # ...while a push of alice/app:v1 passes through
    assert cache.tag("alice/app", "v1", b"v") is None
    assert cache.tag("bob/app", "v1", b"v") == first
    assert not cache.put_tag("alice/app", "v1", first, b"v", started)
    assert cache.put_tag("alice/app", "v1", second, b"v", cache.generation)
    cache.deleted("alice/app", first)
    assert cache.tag("alice/app", "v1", b"v") is None


def test_a_tag_is_trusted_for_a_few_seconds_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ManifestCache()
    body, digest = _manifest(1)
    cache.put("alice/app", digest, body, MEDIA, cache.generation)
    cache.put_tag("alice/app", "v1", digest, b"v", cache.generation)
    now = manifest_cache.time.monotonic()
    monkeypatch.setattr(manifest_cache.time, "monotonic", lambda: now + manifest_cache.TAG_SECONDS + 1)
    assert cache.tag("alice/app", "v1", b"v") is None


def test_tags_are_bounded() -> None:
    cache = ManifestCache(max_entries=2)
    body, digest = _manifest(1)
    cache.put("r/a", digest, body, MEDIA, cache.generation)
    for n in range(5):
        cache.put_tag("r/a", f"t{n}", digest, b"v", cache.generation)
    assert [cache.tag("r/a", f"t{n}", b"v") for n in range(5)] == [None, None, None, digest, digest]
