"""The /v2 handler: route, authorize, then stream to and from the upstream registry.

Bodies are never buffered: the client's body is handed to the upstream request as a stream
(read in gathered pieces, see gathered_reads.py, sent on a batch at a time, relayed_body.py),
and the upstream's body is written back chunk by chunk as it arrives.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import CIMultiDict
from yarl import URL

from gateway import keys
from gateway.auth.scopes import is_valid_digest
from gateway.bodies import read_limited
from gateway.events.capture import MANIFEST_LIMIT, manifest_facts
from gateway.ops import observe
from gateway.ops.chunked_decoder import ChunkedError
from gateway.public import public_host, public_origin
from gateway.registry.access import (
    Access,
    Challenge,
    authorize,
    challenge_response,
    missing_namespace_denial,
    registry_query,
    without_mount,
)
from gateway.registry.cached_manifests import keep, serve_cached
from gateway.registry.catalog import catalog
from gateway.registry.errors import error_response
from gateway.registry.gathered_reads import body_failure, gathered
from gateway.registry.go_form import NEUTRAL_CONTENT_TYPE, without_form_body
from gateway.registry.manifest_writes import delete_tag_answer, read_held, settle_write, write_refusal
from gateway.registry.quota_gate import admit_manifest, admit_upload
from gateway.registry.recording import record_answer, record_exchange
from gateway.registry.referrers import referrers
from gateway.registry.relayed_body import RelayedBody
from gateway.registry.routes import InvalidName, Route, allowed_methods, match_route, method_actions
from gateway.registry.splice import splice_body
from gateway.registry.storage_blobs import open_blob, send_blob
from gateway.registry.storage_blobs import wanted as storage_wanted
from gateway.registry.tags import tag_list
from gateway.registry.upload_state import chunk_out_of_order, known_state, remember, status_response, with_latest_state
from gateway.registry.uploads import PARAM as UPLOAD_PARAM
from gateway.registry.uploads import add_param, split_query
from gateway.registry.validation import manifest_problem, reference_problem
from gateway.registry.write_gate import maintenance_refusal
from gateway.store import StoreError, UploadState

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Expect",
    )
)
_REQUEST_DROP = HOP_BY_HOP | {"host", "authorization", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded"}
# With `upstream.forward_token` the upstream verifies the same tokens (defence in depth).
_FORWARD_TOKEN_DROP = _REQUEST_DROP - {"authorization"}
_RESPONSE_DROP = HOP_BY_HOP | {"content-length", "date", "server"}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_NO_AUTO_HEADERS = ("Accept-Encoding", "User-Agent", "Content-Type")  # only what the client sent
_UPLOAD_PATH_MARK = "/blobs/uploads/"
# aiohttp's write buffer takes this much before a write waits on the client (its high-water mark).
_BUFFERED_BODY = 64 * 1024


async def v2_handler(request: web.Request) -> web.StreamResponse:
    """Every /v2 request but the token endpoint's. A store that fails mid-request (MariaDB
    restarting) is a 503 the client retries, never a 500 with a traceback."""
    try:
        return await _handle(request)
    except StoreError as exc:
        log.warning("store unavailable for %s %s: %s", request.method, request.path, exc)
        return error_response("UNAVAILABLE", "the gateway's store is unavailable; try again", status=503)


async def _handle(request: web.Request) -> web.StreamResponse:
    try:
        route = match_route(request.path)
    except InvalidName as exc:
        return error_response("NAME_INVALID", detail={"name": exc.name[:300]})
    if route is None:
        return error_response("NOT_FOUND", "no such /v2 endpoint", status=404)
    allowed = allowed_methods(route)
    if request.method not in allowed:
        return error_response(
            "UNSUPPORTED", f"{request.method[:20]} is not a method of this endpoint", status=405,
            headers={"Allow": ", ".join(allowed)},
        )
    if route.kind == "manifest" and request.method == "DELETE" and not request.app[keys.POLICY_RULES].delete_enabled:
        return error_response("UNSUPPORTED", "deletion is disabled in this gateway", status=405)
    actions = ",".join(method_actions(request.method)) if route.name else ""
    observe.note(request, route=route.kind, repository=route.name, action=actions)
    try:
        access = authorize(request, route)
    except Challenge as challenge:
        if challenge.error == "insufficient_scope":
            observe.note(request, user=challenge.subject)
        elif challenge.error == "invalid_token":
            observe.authentication_failed(request, "invalid_token")
        denial = await missing_namespace_denial(request, route, challenge)
        return denial or challenge_response(request, challenge)
    observe.note(request, user=access.subject)
    problem = reference_problem(request.method, route, registry_query(request, access))
    if problem is not None:
        code, message, status = problem
        return error_response(code, message, status=status)
    refusal = await maintenance_refusal(request, route)
    if refusal is not None:
        return refusal
    if route.kind == "base":
        return web.json_response({})
    if route.kind == "catalog":
        return await catalog(request, access)
    if route.kind == "referrers":
        return await referrers(request, route)
    if route.kind == "tags" and request.method == "GET":
        return await tag_list(request, route)
    if route.kind == "manifest" and request.method == "DELETE" and not is_valid_digest(route.reference):
        return await delete_tag_answer(request, route, access)
    cached = await serve_cached(request, route, access)
    if cached is not None:
        return cached
    return await forward(request, route, access)


def _upstream_url(request: web.Request, access: Access, upload: UploadState | None = None) -> URL:
    raw_query, _ = split_query(request.rel_url.raw_query_string, UPLOAD_PARAM)
    if upload is not None:
        raw_query = with_latest_state(raw_query, upload)
    if access.strip_mount:
        raw_query = without_mount(raw_query)
    base = str(request.app[keys.SETTINGS].upstream_url.origin())
    target = request.rel_url.raw_path + (f"?{raw_query}" if raw_query else "")
    return URL(base + target, encoded=True)


def _upstream_headers(request: web.Request, route: Route) -> CIMultiDict[str]:
    settings = request.app[keys.SETTINGS]
    drop = _FORWARD_TOKEN_DROP if settings.upstream_forward_token else _REQUEST_DROP
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in request.headers.items():
        if name.lower() not in drop:
            headers.add(name, value)
    headers = without_form_body(headers)
    if route.kind == "upload" and "Content-Type" in headers:
        # Blob bytes have no media type in the registry, and its PATCH takes no other (a 500 else).
        headers["Content-Type"] = NEUTRAL_CONTENT_TYPE
    headers["X-Forwarded-Host"] = public_host(request, settings)
    headers["X-Forwarded-Proto"] = public_origin(request, settings).split("://", 1)[0]
    if request.remote:
        headers["X-Forwarded-For"] = request.remote
    return headers


def _rewrite_location(request: web.Request, location: str, route: Route, access: Access) -> str:
    """Point upstream Locations at this gateway, and bind upload sessions to their opener."""
    settings = request.app[keys.SETTINGS]
    upstream_origin = str(settings.upstream_url.origin())
    if location.startswith(upstream_origin + "/"):
        location = public_origin(request, settings) + location[len(upstream_origin):]
    if route.kind == "upload":
        path = URL(location, encoded=True).raw_path if "://" in location else location.split("?", 1)[0]
        marker = path.find(_UPLOAD_PATH_MARK)
        upload_id = path[marker + len(_UPLOAD_PATH_MARK):] if marker >= 0 else ""
        if upload_id and "/" not in upload_id:
            binding = request.app[keys.UPLOAD_BINDER].bind(route.name, upload_id, access.subject)
            location = add_param(location, binding)
    return location


def _timeout(request: web.Request, unbounded: bool = False) -> aiohttp.ClientTimeout:
    """Uploads (and the registry checking what was uploaded) may take as long as they take; a
    manifest, read whole first, and waits for a response without a body are bounded."""
    settings = request.app[keys.SETTINGS]
    read = None if unbounded else settings.upstream_read_timeout
    return aiohttp.ClientTimeout(
        total=None, connect=settings.upstream_connect_timeout,
        sock_connect=settings.upstream_connect_timeout, sock_read=read,
    )


async def forward(request: web.Request, route: Route, access: Access, *, again: bool = False) -> web.StreamResponse:
    """`again`: the request is asked a second time, after a tag deletion it met (see below)."""
    session = request.app[keys.UPSTREAM]
    settings = request.app[keys.SETTINGS]
    manifest: bytes | None = None
    blobs: Mapping[str, int] | None = None
    streamed = request.method in _BODY_METHODS and request.body_exists
    if route.kind == "manifest" and request.method == "PUT":
        try:
            manifest = await read_limited(request, MANIFEST_LIMIT)
        except (OSError, aiohttp.ClientError, HttpProcessingError) as exc:
            log.info("manifest %s %s cut short by the client: %s", request.method, request.path, exc.__class__.__name__)
            return error_response("MANIFEST_INVALID", "the manifest was cut short", status=400)
        if manifest is None:
            return error_response("SIZE_INVALID", f"manifests are limited to {MANIFEST_LIMIT} bytes", status=413)
        refused = manifest_problem(manifest)
        if refused is not None:
            return error_response("MANIFEST_INVALID", refused, status=400)
        window = await maintenance_refusal(request, route)  # again: its body may have taken a while
        if window is not None:
            return window
    if route.kind == "manifest" and request.method in ("PUT", "DELETE"):
        refusal = await write_refusal(request, route, access, manifest)
        if refusal is not None:
            return refusal
    if manifest is not None:  # after the tag checks: a quota's sizes may cost a HEAD per new blob
        admitted = await admit_manifest(request, route, access, manifest)
        if isinstance(admitted, web.Response):
            return admitted
        blobs = admitted.sizes
    elif (upload_refused := await admit_upload(request, route, access)) is not None:
        return upload_refused
    if storage_wanted(request.method, route, request.headers, settings.upstream_storage_dir):
        local = await _from_storage(request, route, access)
        if local is not None:
            return local
    upload = await known_state(request, route)
    if upload is not None:
        if request.method == "GET":
            return status_response(request, route, access, upload)
        refusal = chunk_out_of_order(request, route, access, upload)
        if refusal is not None:
            return refusal
    try:
        body: bytes | RelayedBody | None = manifest
        if body is None and streamed:
            body = RelayedBody(gathered(request, idle_timeout=settings.client_idle_timeout))
        upstream = await session.request(
            request.method,
            _upstream_url(request, access, upload),
            headers=_upstream_headers(request, route),
            data=body,
            allow_redirects=False,
            timeout=_timeout(request, unbounded=request.method in _BODY_METHODS and manifest is None),
            skip_auto_headers=_NO_AUTO_HEADERS,
        )
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        failure = body_failure(request) if streamed else None
        if isinstance(failure, ChunkedError):
            log.info("upload %s %s: %s", request.method, request.path, failure)
            return error_response("BLOB_UPLOAD_INVALID", f"the upload's chunked encoding is malformed: {failure}", status=400)
        if failure is not None:
            log.info("upload %s %s cut short by the client", request.method, request.path)
            return error_response("BLOB_UPLOAD_INVALID", "the upload was cut short", status=400)
        log.warning("upstream unavailable for %s %s: %s", request.method, request.path, exc.__class__.__name__)
        observe.upstream_failed(request, "unreachable")
        return error_response("UNAVAILABLE", "the upstream registry is unavailable", status=503)
    try:
        if upstream.status >= 500:
            observe.upstream_failed(request, "status_5xx")
            log.warning("upstream answered %d to %s %s", upstream.status, request.method, request.path)
            return error_response("UNAVAILABLE", "the upstream registry failed", {"status": upstream.status}, status=503)
        if (
            upstream.status == 404 and route.kind == "manifest" and request.method in ("GET", "HEAD") and not again
            and await read_held(request, route, access)
        ):
            upstream.release()
            return await forward(request, route, access, again=True)
        kept = await keep(request, route, access, upstream)
        if kept is not None:
            return kept
        if route.kind == "manifest":
            await settle_write(request, route, access, upstream.status, manifest)
        refusal = await record_exchange(request, route, access, upstream, manifest, blobs)
        if refusal is not None:
            return refusal
        if route.kind == "upload":
            await remember(request, route, upstream)
        extra = {}
        if manifest is not None and upstream.status == 201:
            subject = manifest_facts(manifest, "").subject
            if subject:
                extra["OCI-Subject"] = subject
        return await _stream_back(request, upstream, route, access, extra)
    finally:
        upstream.release()


async def _from_storage(request: web.Request, route: Route, access: Access) -> web.StreamResponse | None:
    """A blob GET answered from the registry's HEAD and, for the body, its storage directory
    (gateway/registry/storage_blobs.py); None: put the GET to the registry as usual."""
    settings = request.app[keys.SETTINGS]
    pool = request.app[keys.BLOB_SENDERS]
    assert settings.upstream_storage_dir is not None
    try:
        async with request.app[keys.UPSTREAM].request(
            "HEAD", _upstream_url(request, access), headers=_upstream_headers(request, route), allow_redirects=False,
            timeout=_timeout(request), skip_auto_headers=_NO_AUTO_HEADERS,
        ) as head:
            length = head.content_length
            if head.status != 200 or length is None:
                return None
            fd = await open_blob(pool, settings.upstream_storage_dir, route.reference, length)
            headers = head.headers.copy()
    except (TimeoutError, aiohttp.ClientError, OSError):
        return None  # the GET that follows reports what is wrong
    if fd is None:
        return None
    owned = True
    try:
        refusal = await record_answer(request, route, access, 200, headers, None)
        if refusal is not None:
            return refusal
        response = web.StreamResponse(status=200)
        _copy_headers(headers, response)
        response.content_length = length
        observe.blob_from_storage(request)
        try:
            await response.prepare(request)
            owned = False
            await send_blob(request, response, pool, fd, length, settings.client_idle_timeout)
            await response.write_eof()
        except (TimeoutError, ConnectionError) as exc:
            log.info("blob %s from storage cut short: %s", route.reference, _why(exc))
            if request.transport is not None:
                request.transport.close()
        return response
    finally:
        if owned:
            os.close(fd)


def _why(exc: BaseException) -> str:
    """An exception for a log line: its class, and its message when it has one."""
    return f"{exc.__class__.__name__} ({exc})" if str(exc) else exc.__class__.__name__


def _copy_headers(headers: Mapping[str, str], response: web.StreamResponse) -> None:
    """The registry's response headers, but hop-by-hop ones and those aiohttp sets itself."""
    for name, value in headers.items():
        if name.lower() not in _RESPONSE_DROP:
            response.headers.add(name, value)


async def _stream_back(
    request: web.Request, upstream: aiohttp.ClientResponse, route: Route, access: Access, extra: dict[str, str]
) -> web.StreamResponse:
    response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
    _copy_headers(upstream.headers, response)
    response.headers.update(extra)
    if "Location" in response.headers:
        response.headers["Location"] = _rewrite_location(request, response.headers["Location"], route, access)
    if upstream.content_length is not None:
        response.content_length = upstream.content_length
    try:
        await response.prepare(request)
        settings = request.app[keys.SETTINGS]
        if request.method != "HEAD" and not await splice_body(
            request, response, upstream, settings.upstream_read_timeout, settings.client_idle_timeout
        ):
            await _copy_body(response, upstream, settings.client_idle_timeout)
        await response.write_eof()
    except (TimeoutError, ConnectionError, aiohttp.ClientError) as exc:
        upstream.close()
        log.info("stream of %s %s cut short: %s", request.method, request.path, _why(exc))
        if request.transport is not None:
            request.transport.close()
    return response


async def _copy_body(response: web.StreamResponse, upstream: aiohttp.ClientResponse, idle: float) -> None:
    """The registry's body to the client as it arrives. A body larger than what the socket and
    aiohttp buffer can wait on the client: when nothing moves for `idle` seconds it is cut
    (TimeoutError), so a client that stopped reading does not hold the registry connection."""
    if upstream.content_length is not None and upstream.content_length <= _BUFFERED_BODY:
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        return
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(idle) as deadline:
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
            deadline.reschedule(loop.time() + idle)
