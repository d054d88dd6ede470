"""The /v2 side of the manifest cache (gateway/registry/manifest_cache.py): answer GET/HEAD by
digest from memory after `authorize` passed, fill it from the registry's answers, and forget
what a DELETE through this process removed."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from gateway import keys
from gateway.registry.access import Access
from gateway.registry.manifest_cache import MAX_ENTRY_BYTES, CachedManifest, accepted, cacheable_request
from gateway.registry.recording import record_answer
from gateway.registry.routes import Route

GENERATION = web.RequestKey("manifest_cache_generation", int)


async def serve_cached(request: web.Request, route: Route, access: Access) -> web.StreamResponse | None:
    """Answer a GET/HEAD by digest from memory (recording the pull like any other), or None."""
    cache = request.app[keys.MANIFEST_CACHE]
    if not cacheable_request(request.method, route, request.headers):
        return None
    entry = cache.get(route.name, route.reference)
    if entry is None:
        request[GENERATION] = cache.generation
        return None
    if not accepted(entry.media_type, request.headers.getall("Accept", [])):
        return None  # the registry's own answer (404) is the right one
    headers = entry.headers(route.reference)
    refusal = await record_answer(request, route, access, 200, {**headers, "Content-Length": str(len(entry.body))}, None)
    if refusal is not None:
        return refusal
    # aiohttp sends no body for HEAD, and keeps the Content-Length of the body it holds.
    return web.Response(status=200, body=entry.body, headers=headers)


async def keep(
    request: web.Request, route: Route, access: Access, upstream: aiohttp.ClientResponse
) -> web.StreamResponse | None:
    """Call as soon as the registry answered. Forgets a deleted digest; reads, keeps and answers
    with a manifest fetched by digest (recording the pull); None: carry on as usual."""
    cache = request.app[keys.MANIFEST_CACHE]
    if request.method == "DELETE":
        if upstream.status == 202 and route.kind in ("manifest", "blob"):
            cache.deleted(route.name, route.reference)
        return None
    generation = request.get(GENERATION)
    length = upstream.content_length
    if (
        generation is None or request.method != "GET" or upstream.status != 200
        or length is None or length > MAX_ENTRY_BYTES
    ):
        return None
    body = await upstream.read()
    media_type = upstream.headers.get("Content-Type", "")
    refusal = await record_answer(request, route, access, 200, upstream.headers, None)
    if refusal is not None:
        return refusal
    cache.put(route.name, route.reference, body, media_type, generation)
    return web.Response(status=200, body=body, headers=CachedManifest(body, media_type).headers(route.reference))
