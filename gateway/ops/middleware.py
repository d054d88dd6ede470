"""The operations middleware and signal: a request id on every request; the client's address
behind a trusted proxy; requests and uploads in flight counted (a graceful stop waits for the
former, /metrics shows the latter)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway import keys
from gateway.ops.context import (
    REQUEST_ID_HEADER,
    REQUEST_INFO,
    RequestInfo,
    info_of,
    request_id_for,
)
from gateway.ops.forwarded import client_address

_UPLOAD_METHODS = frozenset({"PATCH", "PUT", "POST"})
_UPLOAD_MARK = "/blobs/uploads/"


def is_upload_body(request: web.Request) -> bool:
    """A blob upload request carrying data (a PATCH chunk, a monolithic PUT or POST)."""
    return request.method in _UPLOAD_METHODS and _UPLOAD_MARK in request.path and request.body_exists


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    info = request[REQUEST_INFO] = RequestInfo(request_id_for(request))
    trusted = request.app[keys.SETTINGS].trusted_proxies
    if trusted:
        client = client_address(request.remote, request.headers.getall("X-Forwarded-For", ()), trusted)
        if client is not None and client != request.remote:
            # Handlers (logins, events, the registry's X-Forwarded-For) read `remote`; the access
            # logger gets the connection's request, so it reads the info.
            info.remote = client
            request = request.clone(remote=client)
    in_flight = request.app[keys.IN_FLIGHT]
    in_flight.enter()
    try:
        if not is_upload_body(request):
            return await handler(request)
        uploads = request.app[keys.METRICS].uploads_in_flight
        uploads.inc()
        try:
            return await handler(request)
        finally:
            uploads.dec()
    finally:
        in_flight.leave()


async def request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    info = info_of(request)
    if info is not None:
        response.headers[REQUEST_ID_HEADER] = info.request_id
