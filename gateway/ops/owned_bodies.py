"""Chunked upload bodies read by the gateway itself, not by aiohttp's HTTP parser.

skopeo, podman and docker send a layer as one PATCH of 32 KiB chunks. aiohttp's parser copies
each chunk out of the socket's read into a new `bytes` and calls back into Python three times for
it, and the reader takes each piece with a coroutine: per GiB, 32,768 rounds of that, about a
third of what an upload costs the gateway beyond the kernel's copies. Here the connection's
protocol follows its requests (gateway/ops/request_framing.py); when the head of a chunked
request that `owns` picks (the registry's uploads) is complete, aiohttp's parser gets that head,
as always, and the protocol keeps the body: a strict decoder of its own
(gateway/ops/chunked_decoder.py) hands its data out as views of the socket's reads to the one
reader, the relay to the registry (gateway/registry/gathered_reads.py). While the body arrives,
the transport reads through a `BufferedProtocol` into buffers the gateway reuses
(gateway/ops/read_buffers.py), so that no `bytes` is made of each read either. When the body
ends, aiohttp's parser gets an empty last chunk, so its message ends there too, and the
connection goes on as before.

aiohttp checks every head first: the protocol takes a body only when aiohttp's message for the
head is the one it read (method, target, chunked), and stops following the connection, leaving
it to aiohttp alone, at anything it cannot follow plainly. A body that breaks the chunked framing
fails its reader and closes the connection. A body that no handler took (a refusal before the
relay) is decoded and dropped, as aiohttp would linger over it.

This reads attributes of aiohttp's `RequestHandler` as a subclass (`_messages`,
`_request_count`, `_close`, `_force_close`); tests/integration/ops/test_owned_bodies.py fails
if they change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp.streams import EMPTY_PAYLOAD
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from aiohttp.web_server import Server

from gateway.ops.chunked_decoder import ChunkedDecoder, ChunkedError
from gateway.ops.read_buffers import ReadBuffers
from gateway.ops.request_framing import HEAD_END, MAX_HEAD, framing_of

# The client is not read while this much decoded data waits for the relay (which waits for the
# registry), and is read again below LOW_WATER: what arrives meanwhile waits in the kernel and
# comes in one large read. Read as it came, a skopeo push took 6,000-10,000 reads a GiB; 2,300.
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
# What a queued piece counts for besides its bytes (a memoryview is ~200 bytes): a body of 1-byte
# chunks must not queue a quarter of a million views before its client is held back.
PIECE_COST = 256
_LAST_CHUNK = b"0\r\n\r\n"
# A body is read into `ReadBuffers` once this much of it came: a small one (a blob of a few KiB)
# costs less read as it is than switching the transport's protocol and allocating buffers.
READ_INTO_BUFFERS_AFTER = 256 * 1024

Batch = Sequence[bytes | memoryview]

log = logging.getLogger(__name__)


class OwnedBody:
    """The data of one chunked request body, decoded as it arrives, for one reader."""

    def __init__(self, transport: Any) -> None:
        self._decoder = ChunkedDecoder()
        self._transport = transport
        self._queue: list[memoryview] = []
        self._queued = 0
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._dropping = False
        self._error: BaseException | None = None

    def feed(self, data: bytes | bytearray, start: int, end: int) -> int:
        """Decodes `data[start:end]`; returns where in `data` the body ended, or -1 while it goes on."""
        before = self._decoder.size
        try:
            pieces, end = self._decoder.feed(data, start, end)
        except ChunkedError as exc:
            self.fail(exc)
            raise
        if pieces and not self._dropping:
            self._queue += pieces
            self._queued += self._decoder.size - before + PIECE_COST * len(pieces)
            if self._queued > HIGH_WATER and not self._paused:
                self._paused = True
                self._transport.pause_reading()
        if pieces or end >= 0:
            self._wake()
        return end

    async def batch(self) -> Batch:
        """Everything decoded since the last batch, waiting for some if there is none; [] at
        the end of the body. Raises what ended the body early."""
        while not self._queue:
            if self._error is not None:
                raise self._error
            if self._decoder.done:
                return []
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        batch, self._queue, self._queued = self._queue, [], 0
        self._resume()
        return batch

    @property
    def size(self) -> int:
        """Data bytes decoded so far."""
        return self._decoder.size

    def at_eof(self) -> bool:
        return self._decoder.done and not self._queue

    def exception(self) -> BaseException | None:
        return self._error

    def fail(self, exc: BaseException) -> None:
        """Ends the body early: its reader gets `exc`."""
        if self._error is None and not self._decoder.done:
            self._error = exc
        self._wake()

    def drop(self) -> None:
        """Nobody will read the rest: it is decoded (to find the body's end) and dropped."""
        self._dropping = True
        self._queue, self._queued = [], 0
        self._resume()

    def _resume(self) -> None:
        if self._paused and self._queued < LOW_WATER:
            self._paused = False
            if not self._transport.is_closing():
                self._transport.resume_reading()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def owned_body(request: BaseRequest) -> OwnedBody | None:
    """The body of `request` when its connection's protocol reads it, else None (aiohttp does)."""
    protocol = request.protocol
    if isinstance(protocol, OwnedBodyHandler):
        return protocol.body_of(request.content)
    return None


class _BodyReader(asyncio.BufferedProtocol):
    """The connection's protocol while a body is read into `ReadBuffers`: the kernel copies into
    them, no `bytes` is made of each read. Everything but the reads goes to the handler."""

    def __init__(self, handler: OwnedBodyHandler) -> None:
        self._handler = handler

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._handler.read_room()

    def buffer_updated(self, nbytes: int) -> None:
        self._handler.read_into_room(nbytes)

    def eof_received(self) -> None:
        self._handler.eof_received()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._handler.connection_lost(exc)

    def pause_writing(self) -> None:
        self._handler.pause_writing()

    def resume_writing(self) -> None:
        self._handler.resume_writing()


class OwnedBodyHandler(RequestHandler):
    """aiohttp's connection protocol, reading the chunked bodies that `owns(method, target)` picks."""

    def __init__(self, manager: Server, *, owns: Callable[[str, str], bool], **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._owns = owns
        self._following = True  # False: what is left of the connection is aiohttp's alone
        self._head = b""
        self._skip = 0  # bytes of a Content-Length body still to pass to aiohttp
        self._body: OwnedBody | None = None  # the body arriving now
        self._bodies: dict[object, OwnedBody] = {}  # by aiohttp's payload, until its handler ends
        self._buffers: ReadBuffers | None = None
        self._reader: _BodyReader | None = None  # the transport's protocol while a body arrives

    def body_of(self, payload: object) -> OwnedBody | None:
        return self._bodies.get(payload)

    def data_received(self, data: bytes) -> None:
        rest = self._route(data) if data else data
        if rest or not data:  # b"": aiohttp's own call to parse what it holds back
            super().data_received(rest)
        if self._body is not None or self._reader is not None:
            self._choose_reader()

    def _route(self, data: bytes) -> bytes:
        """Passes `data` on, request by request; returns what is left for aiohttp alone."""
        while data:
            if not self._following or self._close or self._force_close:
                return data
            if self._body is not None:
                at = self._feed_body(self._body, data, 0, len(data))
                data = data[at:] if 0 <= at < len(data) else b""
            elif self._skip:
                if len(data) <= self._skip:
                    self._skip -= len(data)
                    return data
                skip, self._skip = self._skip, 0
                super().data_received(data[:skip])
                data = data[skip:]
            else:
                data = self._feed_head(data)
        return b""

    def read_room(self) -> memoryview:
        assert self._buffers is not None
        return self._buffers.room()

    def read_into_room(self, nbytes: int) -> None:
        """`nbytes` were read into the room `read_room` gave (the connection reads a body)."""
        assert self._buffers is not None
        buffer, start, end = self._buffers.filled(nbytes)
        body = self._body
        if body is None or not self._following or self._close or self._force_close:
            self.data_received(bytes(buffer[start:end]))  # read just before the switch back
            return
        at = self._feed_body(body, buffer, start, end)
        if 0 <= at < end:
            self.data_received(bytes(buffer[at:end]))  # the next request's
        self._choose_reader()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._body is not None:
            self._body.fail(exc or ConnectionResetError("the client closed the connection mid-body"))
        super().connection_lost(exc)

    async def shutdown(self, timeout: float | None = 15.0) -> None:
        """The server stops (after its grace period): a body still arriving is cut, as aiohttp cuts
        the payload of the request in progress, so that its upload is answered as cut short."""
        for body in self._bodies.values():
            body.fail(ConnectionResetError("the server is stopping"))
        await super().shutdown(timeout)

    async def _handle_request(
        self,
        request: BaseRequest,
        start_time: float | None,
        request_handler: Callable[[BaseRequest], Awaitable[StreamResponse]],
    ) -> tuple[StreamResponse, bool]:
        try:
            return await super()._handle_request(request, start_time, request_handler)
        finally:
            body = self._bodies.pop(request.content, None)
            if body is not None:
                body.drop()

    def _choose_reader(self) -> None:
        """Reads into `ReadBuffers` while a large body arrives, as aiohttp's protocol otherwise."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        body = self._body
        reading_body = (
            body is not None and body.size >= READ_INTO_BUFFERS_AFTER and self._following
            and not (self._close or self._force_close)
        )
        if reading_body and self._reader is None:
            if self._buffers is None:
                self._buffers = ReadBuffers()
            self._reader = _BodyReader(self)
            transport.set_protocol(self._reader)
        elif not reading_body and self._reader is not None:
            self._reader = None
            self._buffers = None  # a kept-alive connection holds no buffers between uploads
            transport.set_protocol(self)

    def _feed_head(self, data: bytes) -> bytes:
        """Passes the head's bytes in `data` to aiohttp; returns what follows the head."""
        if self._head:
            start = len(self._head)
            self._head += data
            found = self._head.find(HEAD_END, max(0, start - 3))
        else:
            start, found = 0, data.find(HEAD_END)
            if found < 0:
                self._head = data
        if found < 0:
            if len(self._head) > MAX_HEAD:
                self._following = False
                self._head = b""
            super().data_received(data)
            return b""
        cut = found + len(HEAD_END) - start  # where the head ends in `data`
        head = self._head[: found + len(HEAD_END)] if self._head else data[:cut]
        self._head = b""
        parsed = self._request_count
        super().data_received(data[:cut] if cut < len(data) else data)
        self._follow(head, self._request_count - parsed)
        return data[cut:] if cut < len(data) else b""

    def _follow(self, head: bytes, parsed: int) -> None:
        """Sets up for the body after `head`, which aiohttp's parser has just read (`parsed`
        messages out of it): or stops following, when aiohttp read it otherwise."""
        framing = framing_of(head)
        if framing is None or parsed != 1 or not self._messages or self._close or self._force_close:
            self._following = False
            return
        message, payload = self._messages[-1]
        if (
            getattr(message, "method", None) != framing.method
            or getattr(message, "path", None) != framing.target
            or bool(getattr(message, "chunked", False)) != framing.chunked
            or (payload is EMPTY_PAYLOAD) != (framing.length == 0 and not framing.chunked)
            or getattr(message, "compression", None) is not None  # aiohttp inflates such a body: its own
        ):
            self._following = False
            return
        if framing.chunked:
            if not self._owns(framing.method, framing.target):
                self._following = False
                return
            self._body = self._bodies[payload] = OwnedBody(self.transport)
        else:
            self._skip = framing.length

    def _feed_body(self, body: OwnedBody, data: bytes | bytearray, start: int, end: int) -> int:
        """Passes `data[start:end]` to `body`; returns where in `data` the next request starts,
        or -1 when the body goes on (or broke its framing: then the connection closes)."""
        try:
            at = body.feed(data, start, end)
        except ChunkedError as exc:
            log.info("closing the connection: %s", exc)
            self._body = None
            self._following = False
            self._end_payload_of(body)
            self.close()
            return -1
        if at < 0:
            return -1
        self._body = None
        super().data_received(_LAST_CHUNK)  # aiohttp's message ends where the body did
        return at

    def _end_payload_of(self, body: OwnedBody) -> None:
        """aiohttp's payload of a body that broke its framing, ended, so that aiohttp closes the
        connection after the response instead of lingering over a body that never ends."""
        for payload, owned in self._bodies.items():
            if owned is body and hasattr(payload, "feed_eof"):
                payload.feed_eof()
