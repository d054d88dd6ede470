"""Manifest writes on /v2 under the rules of gateway/services/tags.py and immutable.py.

`DELETE /v2/NAME/manifests/TAG` deletes that tag alone (202), through the same service as the
API, the CLI and the web UI. Every other manifest write (a PUT, a DELETE by digest) first asks
the store, in one statement, whether a tag deletion holds the repository (then it waits for
it, 503 `UNAVAILABLE` after a while) and for the namespace's immutable tag patterns: a PUT that
would move an immutable tag to another digest, or a DELETE of a manifest an immutable tag names,
is refused with 403 `DENIED` naming the pattern. A manifest read the registry answers 404 while
a deletion runs waits for it and asks again (the other tags are away between its delete and
its put-back). Blob traffic and successful pulls pay nothing for this.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from gateway import keys
from gateway.app_services import services_of
from gateway.auth.namespaces import identity_of
from gateway.auth.policy import namespace_of
from gateway.auth.scopes import is_valid_digest
from gateway.registry.access import Access
from gateway.registry.deleting import recorder_for, recorder_of, upstream_for, upstream_of
from gateway.registry.errors import error_response
from gateway.registry.purge import PurgeError, delete_upstream
from gateway.registry.routes import Route
from gateway.registry.upstream_manifests import Manifest, head_digest, put_manifest
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, Unavailable
from gateway.services.immutable import immutable_message, immutable_pattern
from gateway.services.tags import HOLD_SECONDS, delete_tag, finish_expired, wait_for_tag_deletion
from gateway.store import StoreError

log = logging.getLogger(__name__)

RETRY_AFTER = str(int(HOLD_SECONDS))
SWEEP_SECONDS = 5.0


def _error(exc: ServiceError) -> web.Response:
    """A service's refusal as the OCI error a registry client understands."""
    message = str(exc)
    if isinstance(exc, NotFound):
        return error_response("MANIFEST_UNKNOWN", message, status=404)
    if isinstance(exc, Forbidden):
        return error_response("DENIED", message, status=403)
    if isinstance(exc, Invalid):
        return error_response("TAG_INVALID", message, status=400)
    if isinstance(exc, Conflict):
        return error_response("UNSUPPORTED", message, status=405)
    return error_response("UNAVAILABLE", message, status=503, headers={"Retry-After": RETRY_AFTER})


async def delete_tag_answer(request: web.Request, route: Route, access: Access) -> web.Response:
    """`DELETE /v2/NAME/manifests/TAG`: that tag alone, 202 as the OCI spec allows."""
    identity = await identity_of(request.app[keys.STORE], access.subject, access.app_token)
    try:
        await delete_tag(
            services_of(request.config_dict), identity, route.name, route.reference, upstream_for(request, access.subject),
            recorder_for(request, access.subject), useragent=request.headers.get("User-Agent", "")[:255],
        )
    except ServiceError as exc:
        log.info("DELETE %s refused: %s", request.path, exc)
        return _error(exc)
    return web.Response(status=202)


async def write_refusal(request: web.Request, route: Route, access: Access, manifest: bytes | None) -> web.Response | None:
    """Wait while a tag deletion holds the repository; refuse a write that would move or remove
    an immutable tag. None: go on."""
    store = request.app[keys.STORE]
    locked, patterns = await store.manifest_write_facts(route.name, namespace_of(route.name))
    if locked:
        upstream, recorder = upstream_for(request, access.subject), recorder_for(request, access.subject)
        if not await wait_for_tag_deletion(store, route.name, upstream, recorder):
            return _error(Unavailable(f"a tag of {route.name!r} is being deleted; try again"))
        locked, patterns = await store.manifest_write_facts(route.name, namespace_of(route.name))
    if not patterns:
        return None
    if request.method == "DELETE" and is_valid_digest(route.reference):
        tags = await store.tags_naming(route.name, route.reference)
        return _refused(route, patterns, tags, "deleted")
    if request.method == "PUT" and manifest is not None and not is_valid_digest(route.reference):
        if immutable_pattern(patterns, route.reference) is None:
            return None
        try:
            current = await head_digest(upstream_for(request, access.subject), route.name, route.reference)
        except (PurgeError, TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("immutable tag %s:%s not checked: %s", route.name, route.reference, exc.__class__.__name__)
            return _error(Unavailable("the upstream registry is unavailable"))
        if current is not None and current != "sha256:" + hashlib.sha256(manifest).hexdigest():
            return _refused(route, patterns, [route.reference], "moved to another manifest")
    return None


async def read_held(request: web.Request, route: Route, access: Access) -> bool:
    """A manifest GET or HEAD the registry answered 404: when a tag deletion holds the
    repository, the manifest may be away between its delete and its put-back, so wait for the
    deletion to end; True: ask the registry again. Only a 404 pays this statement."""
    store = request.app[keys.STORE]
    locked, _ = await store.manifest_write_facts(route.name, namespace_of(route.name))
    if not locked:
        return False
    upstream, recorder = upstream_for(request, access.subject), recorder_for(request, access.subject)
    return await wait_for_tag_deletion(store, route.name, upstream, recorder)


async def settle_write(request: web.Request, route: Route, access: Access, status: int, manifest: bytes | None) -> None:
    """After the registry took a manifest PUT under a tag or a DELETE by digest: when a tag
    deletion holds the repository now, it began while this write was on its way and may undo it
    (its delete by digest takes a tag just pushed; its put-back revives a manifest just deleted).
    Wait for it to end, then make the same write again. One statement when none holds it."""
    tagged_put = request.method == "PUT" and status == 201 and manifest is not None and not is_valid_digest(route.reference)
    digest_delete = request.method == "DELETE" and status == 202 and is_valid_digest(route.reference)
    if not (tagged_put or digest_delete):
        return
    store = request.app[keys.STORE]
    locked, _ = await store.manifest_write_facts(route.name, namespace_of(route.name))
    if not locked:
        return
    upstream, recorder = upstream_for(request, access.subject), recorder_for(request, access.subject)
    log.info("%s %s met a tag deletion in %s: writing again after it", request.method, request.path, route.name)
    try:
        if not await wait_for_tag_deletion(store, route.name, upstream, recorder):
            log.warning("%s %s not written again: the tag deletion in %s still runs", request.method, request.path, route.name)
        elif manifest is not None and tagged_put:
            again = Manifest(manifest, request.headers.get("Content-Type", ""), "sha256:" + hashlib.sha256(manifest).hexdigest())
            await put_manifest(upstream, route.name, route.reference, again)
        else:
            await delete_upstream(upstream, route.name, route.reference)
    except (PurgeError, TimeoutError, aiohttp.ClientError, OSError) as exc:
        log.warning("%s %s not written again after a tag deletion: %s", request.method, request.path, exc)


def _refused(route: Route, patterns: tuple[str, ...], tags: list[str], verb: str) -> web.Response | None:
    for tag in tags:
        pattern = immutable_pattern(patterns, tag)
        if pattern is not None:
            message = immutable_message(route.name, tag, pattern, verb)
            log.info("manifest write refused: %s", message)
            return error_response("DENIED", message, {"tag": tag, "pattern": pattern}, status=403)
    return None


async def sweeping(app: web.Application) -> AsyncIterator[None]:
    """Cleanup-context body: every few seconds, finish the tag deletions whose holder died, so
    the tags they took away come back even if nobody writes to their repository."""
    settings = app[keys.SETTINGS]
    public = settings.public_url
    service = settings.service or (public.host_port_subcomponent or public.raw_host or "" if public else "")
    upstream, recorder = upstream_of(app, "", service), recorder_of(app, "")

    async def sweep() -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await finish_expired(app[keys.STORE], upstream, recorder)
            except StoreError as exc:
                log.warning("unfinished tag deletions not looked for: %s", exc)

    task = asyncio.create_task(sweep())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
