"""Reading, listing and putting manifests in the registry on the gateway's own behalf (a tag
deleted alone, gateway/services/tags.py), through the same `Upstream` as a purge. The bytes
are kept exactly as the registry holds them, so a manifest put back has the same digest."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from urllib.parse import quote

from yarl import URL

from gateway import safe_json
from gateway.events.capture import MANIFEST_LIMIT
from gateway.registry.purge import MANIFEST_TYPES, TIMEOUT, PurgeError, Upstream

# HEADs of a repository's tags in flight at once: the registry takes ~1.2 ms of CPU per request.
_CONCURRENT_HEADS = 8


@dataclass(frozen=True)
class Manifest:
    body: bytes
    media_type: str
    digest: str


def _url(upstream: Upstream, repository: str, reference: str) -> URL:
    path = f"/v2/{quote(repository, safe='/')}/manifests/{quote(reference, safe=':')}"
    return upstream.origin.join(URL(path, encoded=True))


async def get_manifest(upstream: Upstream, repository: str, reference: str) -> Manifest | None:
    """The manifest a tag or digest names, byte for byte; None when there is none."""
    headers = {**upstream.headers_for(repository), "Accept": MANIFEST_TYPES}
    async with upstream.session.get(_url(upstream, repository, reference), headers=headers, timeout=TIMEOUT) as got:
        if got.status == 404:
            return None
        if got.status != 200:
            raise PurgeError(f"the registry answered {got.status} to reading {repository}:{reference}")
        body = await got.content.read(MANIFEST_LIMIT + 1)
        media_type = got.headers.get("Content-Type", "")
    if len(body) > MANIFEST_LIMIT:
        raise PurgeError(f"the manifest {repository}:{reference} is larger than {MANIFEST_LIMIT} bytes")
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    return Manifest(body, media_type, digest)


async def put_manifest(upstream: Upstream, repository: str, reference: str, manifest: Manifest) -> None:
    """Put these exact bytes under a tag (or their digest); the registry must answer 201."""
    headers = {**upstream.headers_for(repository), "Content-Type": manifest.media_type}
    url = _url(upstream, repository, reference)
    async with upstream.session.put(url, data=manifest.body, headers=headers, timeout=TIMEOUT) as put:
        answered = put.headers.get("Docker-Content-Digest", manifest.digest)
        if put.status != 201:
            raise PurgeError(f"the registry answered {put.status} to putting {repository}:{reference} back")
    if answered != manifest.digest:
        raise PurgeError(f"the registry stored {repository}:{reference} as {answered}, not {manifest.digest}")


async def tag_digests(upstream: Upstream, repository: str) -> dict[str, str]:
    """Every tag of the repository in the registry now, with the digest it names (registry 2.8
    lists every tag at once; a tag gone between the list and its HEAD is left out)."""
    headers = dict(upstream.headers_for(repository))
    url = upstream.origin.join(URL(f"/v2/{quote(repository, safe='/')}/tags/list", encoded=True))
    async with upstream.session.get(url, headers=headers, timeout=TIMEOUT) as listed:
        if listed.status == 404:
            return {}
        if listed.status != 200:
            raise PurgeError(f"the registry answered {listed.status} to the tag list of {repository!r}")
        document = safe_json.loads(await listed.read())
    tags = [t for t in (document.get("tags") or []) if isinstance(t, str)] if isinstance(document, dict) else []
    gate = asyncio.Semaphore(_CONCURRENT_HEADS)

    async def digest_of(tag: str) -> tuple[str, str | None]:
        async with gate:
            return tag, await head_digest(upstream, repository, tag)

    found = await asyncio.gather(*(digest_of(tag) for tag in tags))
    return {tag: digest for tag, digest in found if digest}


async def head_digest(upstream: Upstream, repository: str, reference: str) -> str | None:
    """The digest a tag names in the registry now; None when it names none."""
    headers = {**upstream.headers_for(repository), "Accept": MANIFEST_TYPES}
    async with upstream.session.head(_url(upstream, repository, reference), headers=headers, timeout=TIMEOUT) as head:
        digest = head.headers.get("Docker-Content-Digest", "")
        return digest if head.status == 200 and digest else None
