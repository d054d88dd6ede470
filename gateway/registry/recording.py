"""The one place proxied traffic becomes events: called between the upstream's answer and the
client's, so durable events are committed before the client hears success."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import aiohttp
from aiohttp import web

from gateway import keys
from gateway.events.capture import Exchange
from gateway.ops.context import info_of
from gateway.public import public_origin
from gateway.registry.access import Access, registry_query
from gateway.registry.errors import error_response
from gateway.registry.routes import Route
from gateway.store import StoreError

log = logging.getLogger(__name__)


def _request_id(request: web.Request) -> str:
    info = info_of(request)
    return info.request_id if info is not None else ""


async def record_exchange(
    request: web.Request, route: Route, access: Access, upstream: aiohttp.ClientResponse, manifest: bytes | None,
    blobs: Mapping[str, int] | None = None,
) -> web.Response | None:
    """Record the exchange; an error response when a durable event could not be written.
    `blobs`: a pushed manifest's blobs with their sizes (gateway/registry/quota_gate.py)."""
    return await record_answer(request, route, access, upstream.status, upstream.headers, manifest, blobs)


async def record_answer(
    request: web.Request, route: Route, access: Access, status: int, headers: Mapping[str, str], manifest: bytes | None,
    blobs: Mapping[str, int] | None = None,
) -> web.Response | None:
    """Record an answer with this status and these headers, whether the registry gave it or the
    gateway did from memory; an error response when a durable event could not be written."""
    if status >= 300 or route.kind not in ("manifest", "blob", "upload"):
        return None
    exchange = Exchange(
        route=route, method=request.method, query=registry_query(request, access), status=status,
        request_headers=request.headers, response_headers=headers, remote=request.remote or "",
        origin=public_origin(request, request.app[keys.SETTINGS]), subject=access.subject,
        app_token=access.app_token_name or "", manifest=manifest, request_id=_request_id(request), blobs=blobs,
    )
    try:
        await request.app[keys.EVENTS].observe(exchange)
    except StoreError as exc:
        log.error("event for %s %s not recorded: %s", request.method, request.path, exc)
        return error_response("UNAVAILABLE", "the event log is unavailable; retry the request", status=503)
    return None
