"""The manifest cache on its own: bounded, digest-checked, per repository, forgetting deletes."""

from __future__ import annotations

import hashlib

from gateway.registry.manifest_cache import ManifestCache, accepted, cacheable_request
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


def test_only_plain_gets_and_heads_by_digest_are_served_from_memory() -> None:
    _, digest = _manifest(1)
    by_digest = Route("manifest", "alice/app", digest)
    assert cacheable_request("GET", by_digest, {})
    assert cacheable_request("HEAD", by_digest, {})
    assert not cacheable_request("GET", Route("manifest", "alice/app", "v1"), {})
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
