"""The /v2 side of the manifest cache (gateway/registry/manifest_cache.py): answer GET/HEAD by
digest, or by a tag the store proves unmoved, from memory after `authorize` passed; fill it from
the registry's answers; forget what a push or DELETE through this process changed."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from aiohttp import web

from gateway import keys
from gateway.auth.scopes import is_valid_digest
from gateway.ops import observe
from gateway.registry.access import Access
from gateway.registry.manifest_cache import MAX_ENTRY_BYTES, CachedManifest, accepted, cacheable_request, named
from gateway.registry.recording import record_answer
from gateway.registry.routes import Route


@dataclass(frozen=True)
class Fill:
    """What a miss saw before it asked the registry: the cache generation and store version."""

    generation: int
    version: object | None


FILL = web.RequestKey("manifest_cache_fill", Fill)


async def serve_cached(request: web.Request, route: Route, access: Access) -> web.StreamResponse | None:
    """Answer a GET/HEAD by digest or tag from memory (recording the pull like any other), or None."""
    cache = request.app[keys.MANIFEST_CACHE]
    if not cacheable_request(request.method, route, request.headers):
        return None
    accept = request.headers.getall("Accept", [])
    if is_valid_digest(route.reference):
        digest: str | None = route.reference
        version = None
    else:
        version = request.app[keys.STORE].data_version()
        digest = cache.tag(route.name, route.reference, version)
    entry = cache.get(route.name, digest) if digest is not None else None
    if entry is None or digest is None:
        request[FILL] = Fill(cache.generation, version)
        return None
    if not (accepted(entry.media_type, accept) if digest == route.reference else named(entry.media_type, accept)):
        return None  # the registry's own answer (a 404, or a rewritten manifest) is the right one
    headers = entry.headers(digest)
    refusal = await record_answer(request, route, access, 200, {**headers, "Content-Length": str(len(entry.body))}, None)
    if refusal is not None:
        return refusal
    observe.manifest_from_memory(request, "digest" if digest == route.reference else "tag")
    # aiohttp sends no body for HEAD, and keeps the Content-Length of the body it holds.
    return web.Response(status=200, body=entry.body, headers=headers)


async def keep(
    request: web.Request, route: Route, access: Access, upstream: aiohttp.ClientResponse
) -> web.StreamResponse | None:
    """Call as soon as the registry answered. Forgets what a push or delete changed; reads, keeps
    and answers with a manifest fetched by digest or tag (recording the pull); None: carry on."""
    cache = request.app[keys.MANIFEST_CACHE]
    if request.method == "DELETE":
        if upstream.status == 202 and route.kind in ("manifest", "blob"):
            cache.deleted(route.name, route.reference)
        return None
    if request.method == "PUT" and route.kind == "manifest":
        cache.tags_changed(route.name)
        return None
    fill = request.get(FILL)
    if fill is None or upstream.status != 200:
        return None
    by_tag = not is_valid_digest(route.reference)
    digest = upstream.headers.get("Docker-Content-Digest", "") if by_tag else route.reference
    media_type = upstream.headers.get("Content-Type", "")
    if by_tag and not (digest and named(media_type, request.headers.getall("Accept", []))):
        return None
    if request.method == "HEAD":
        if by_tag:
            cache.put_tag(route.name, route.reference, digest, fill.version, fill.generation)
        return None
    length = upstream.content_length
    if request.method != "GET" or length is None or length > MAX_ENTRY_BYTES:
        return None
    body = await upstream.read()
    refusal = await record_answer(request, route, access, 200, upstream.headers, None)
    if refusal is not None:
        return refusal
    if cache.put(route.name, digest, body, media_type, fill.generation) and by_tag:
        cache.put_tag(route.name, route.reference, digest, fill.version, fill.generation)
    return web.Response(status=200, body=body, headers=CachedManifest(body, media_type).headers(digest))
