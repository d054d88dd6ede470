"""Blob uploads from the client to the registry with splice(2), past aiohttp's request parser.

aiohttp parses a request body chunk by chunk into Python bytes, and its client writes each one
again: about 1 s of gateway CPU per GB uploaded, on a machine whose two cores the registry
needs for hashing and writing. For a large upload with a Content-Length on plain TCP both sides,
the gateway instead stops reading the client's socket, sends what aiohttp already holds, and
splices the rest client socket -> pipe -> registry socket (gateway/registry/splice.py), as the
body of an aiohttp client request whose headers aiohttp writes as usual.

aiohttp's parser never sees those bytes, so it cannot find the next request on that connection:
the answer carries `Connection: close` and the connection ends with it.
"""

from __future__ import annotations

import os

from aiohttp import payload, web
from aiohttp.abc import AbstractStreamWriter

from gateway import keys
from gateway.registry.routes import Route
from gateway.registry.splice import SPLICE_MIN_BYTES, Splice, flushed, plain_socket

_METHODS = frozenset({"POST", "PUT", "PATCH"})


class SplicedUpload(payload.Payload):
    """The client's body as an aiohttp client payload: `write_with_length` splices it."""

    def __init__(self, request: web.Request, buffered: bytes, length: int) -> None:
        super().__init__(None, content_type=None)
        self._size = length
        self._request = request
        self._buffered = buffered
        self.splice: Splice | None = None

    @property
    def client_failed(self) -> bool:
        """Whether the client (not the registry) broke off the upload."""
        return self.splice is not None and self.splice.source_failed

    def closing(self, response: web.StreamResponse) -> web.StreamResponse:
        """`response` marked `Connection: close` if not sent yet; the body reader ended, so
        aiohttp does not wait for bytes that will never reach it."""
        if not response.prepared:
            response.force_close()
        if not self._request.content.is_eof():
            self._request.content.feed_eof()
        return response

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("a spliced upload cannot be decoded")

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: AbstractStreamWriter, content_length: int | None) -> None:
        transport = getattr(writer, "transport", None)
        client = plain_socket(self._request.transport)
        upstream = plain_socket(transport)
        if client is None or upstream is None:
            raise ConnectionResetError("a connection of the upload is gone")
        if self._buffered:
            await writer.write(self._buffered)  # with the request's headers, in one send
        else:
            writer.send_headers()
        await flushed(transport)
        content = self._request.content
        self.splice = Splice(client, upstream, self._request.path)
        try:
            await self.splice.run(self._size - len(self._buffered), None)
        finally:
            # What the access log reports as the request's bytes_in.
            content.total_bytes += self.splice.moved
            content.feed_eof()


def take_upload(request: web.Request, route: Route) -> SplicedUpload | None:
    """Take the body of a large upload away from aiohttp's parser, or None (nothing done) when
    it must be streamed as usual. The connection is then closed after the answer."""
    length = request.content_length
    content = request.content
    if (
        not hasattr(os, "splice") or route.kind != "upload" or request.method not in _METHODS
        or length is None or length < SPLICE_MIN_BYTES or "Transfer-Encoding" in request.headers
        or request.app[keys.SETTINGS].upstream_url.scheme != "http"
        or request.transport is None or plain_socket(request.transport) is None
        or content.exception() is not None or content.is_eof()
    ):
        return None
    try:
        buffered = content.read_nowait()
    except RuntimeError:  # someone is already waiting on the reader: leave it to aiohttp
        return None
    # Reading what aiohttp buffered may have resumed the transport; pausing it here, with no
    # await in between, leaves every later byte of the body in the socket.
    request.transport.pause_reading()
    request.protocol.close()  # no keep-alive: the parser still waits for the body we take
    return SplicedUpload(request, buffered, length)
