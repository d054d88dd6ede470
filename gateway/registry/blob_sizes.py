"""What the registry holds, asked by the gateway itself for namespace quotas: a blob's size in a
repository (a HEAD; the registry's `Content-Length` is the size it stored, whatever a manifest
declares) and a manifest's bytes (for a recount of what was pushed before quotas were counted)."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
from yarl import URL

from gateway.bodies import read_limited
from gateway.events.capture import MANIFEST_LIMIT
from gateway.registry.purge import MANIFEST_TYPES, Upstream

_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
_MAX_SIZE = 2**62  # no registry holds more in one blob; a larger length is nonsense


def _url(upstream: Upstream, repository: str, kind: str, digest: str) -> URL:
    return upstream.origin.join(URL(f"/v2/{quote(repository, safe='/')}/{kind}/{digest}", encoded=True))


async def blob_size(upstream: Upstream, repository: str, digest: str) -> int | None:
    """The size of a blob the registry holds in `repository`; None when it holds none there.
    Raises aiohttp.ClientError, TimeoutError or OSError when it could not be asked."""
    url = _url(upstream, repository, "blobs", digest)
    async with upstream.session.head(url, headers=dict(upstream.headers_for(repository)), timeout=_TIMEOUT) as response:
        length = response.content_length
        if response.status != 200 or length is None or not 0 <= length <= _MAX_SIZE:
            return None
        return length


async def manifest_bytes(upstream: Upstream, repository: str, digest: str) -> bytes | None:
    """A manifest's bytes as pushed; None when the registry no longer has it (or it is larger
    than any manifest the gateway takes)."""
    url = _url(upstream, repository, "manifests", digest)
    headers = {**upstream.headers_for(repository), "Accept": MANIFEST_TYPES}
    async with upstream.session.get(url, headers=headers, timeout=_TIMEOUT) as response:
        if response.status != 200:
            return None
        return await read_limited(response, MANIFEST_LIMIT)
