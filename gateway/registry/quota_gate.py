"""Where /v2 traffic meets namespace quotas (the rules are gateway/services/quotas.py): a
manifest PUT is sized before the registry sees it (the blobs it adds to its namespace, their
sizes asked of the registry) and refused with `DENIED` when they would take the namespace past
its quota; an upload POST is refused while the namespace is at or over it. Nothing else on the
hot path asks: pulls and blob transfers never touch quotas."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from gateway import keys, safe_json
from gateway.auth.policy import namespace_of
from gateway.events.manifest_blobs import Sized, references, sized
from gateway.registry.access import Access
from gateway.registry.blob_sizes import blob_size
from gateway.registry.deleting import upstream_for
from gateway.registry.errors import error_response
from gateway.registry.routes import Route
from gateway.services.quotas import manifest_refusal, upload_refusal

log = logging.getLogger(__name__)


def _denied(request: web.Request, access: Access, why: str) -> web.Response:
    log.info("%s %s by %r refused: %s", request.method, request.path, access.subject, why)
    return error_response("DENIED", why, status=403)


async def admit_manifest(request: web.Request, route: Route, access: Access, manifest: bytes) -> Sized | web.Response:
    """The blobs the manifest holds, sized; or the refusal when they do not fit the quota."""
    try:
        document = safe_json.loads(manifest)
    except ValueError:
        document = None
    refs = references(document)
    upstream = upstream_for(request, access.subject)

    async def head(digest: str) -> int | None:
        try:
            return await blob_size(upstream, route.name, digest)
        except (TimeoutError, aiohttp.ClientError, OSError):
            return refs.blobs[digest]  # the registry is away: it will not take the manifest either

    store = request.app[keys.STORE]
    found = await sized(store, namespace_of(route.name), route.name, refs, head)
    refusal = await manifest_refusal(store, route.name, found.adds)
    return found if refusal is None else _denied(request, access, refusal)


async def admit_upload(request: web.Request, route: Route, access: Access) -> web.Response | None:
    """The refusal of an upload's start (a POST, mounts too) into a namespace at its quota."""
    if route.kind != "upload" or request.method != "POST":
        return None
    refusal = await upload_refusal(request.app[keys.STORE], route.name, request.app[keys.GATE_READS].namespace_quota)
    return None if refusal is None else _denied(request, access, refusal)
