"""Upload bodies read in fewer, larger pieces.

Clients that compress as they push (skopeo, podman, docker) send a layer as one chunked PATCH of
32 KiB chunks, each flushed on its own and its closing CRLF in a TCP segment of its own. Read as
it comes, a 200 MiB push was 3,600-5,500 reads on the bench machine (a thousand of them the two
CRLF bytes), each a wake-up of the event loop, a system call, a pass through the HTTP parser and
a send to the registry: most of what the upload cost the gateway.

So when a read brings less than `FULL_READ`, the body is arriving slower than it can be read, and
the gateway stops reading from that client while the batch goes on to the registry and for `PAUSE`
seconds more; the kernel keeps what arrives meanwhile, and the next read takes all of it. A client
that keeps up fills every read and is never paused. The pause cannot slow the client down while
the socket's receive buffer (Linux grows it to megabytes) holds more than `PAUSE` of its traffic,
and a slow client is read no more often than before: a pause adds a timer and two epoll calls to a
read, then waits for its bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import StreamReader, web

from gateway.ops.owned_bodies import Batch, OwnedBody, owned_body

# aiohttp stops reading a request body by itself at 128 KiB buffered (twice its 64 KiB limit):
# a read that brings that much came from a client that keeps up. A body the connection reads
# itself (owned_bodies.py) is read up to a megabyte at a time: one that keeps up brings more.
FULL_READ = 128 * 1024
FULL_OWNED_READ = 512 * 1024
PAUSE = 0.002

log = logging.getLogger(__name__)


class _IdleWatch:
    """Closes the client's connection when a read of its body has waited `seconds` for a byte.

    A client that stops sending mid-body would otherwise hold its pooled connection to the
    registry for ever (aiohttp has no timeout on a request body). Only time spent waiting for the
    client counts: a read the registry holds up by reading slowly is not the client's idling."""

    def __init__(self, request: web.Request, seconds: float) -> None:
        self._request = request
        self._seconds = seconds
        self._loop = asyncio.get_running_loop()
        self.waiting_since: float | None = None
        self._timer = self._loop.call_later(seconds / 2, self._check)

    def _check(self) -> None:
        since = self.waiting_since
        if since is not None and self._loop.time() - since >= self._seconds:
            transport = self._request.transport
            log.info(
                "%s %s: no byte of the body for %.0f s, connection closed",
                self._request.method, self._request.path, self._seconds,
            )
            if transport is not None:
                transport.close()
            return
        self._timer = self._loop.call_later(self._seconds / 2, self._check)

    def stop(self) -> None:
        self._timer.cancel()


class _ParsedBody:
    """A body as aiohttp's parser feeds it: the pieces it fed, one per HTTP chunk, not joined."""

    def __init__(self, content: StreamReader) -> None:
        self._content = content
        self._taken = 0  # of content.total_bytes: what is fed but not taken can be read without waiting

    async def batch(self) -> Batch:
        content = self._content
        piece = await self._next_piece()
        if not piece:
            return []
        batch, size = [piece], len(piece)
        while content.total_bytes > self._taken + size:
            piece = await self._next_piece()
            if not piece:
                break
            batch.append(piece)
            size += len(piece)
        self._taken += size
        return batch

    def at_eof(self) -> bool:
        return self._content.at_eof()

    async def _next_piece(self) -> bytes:
        """The next piece the parser fed, as it was fed; b"" at the end of the body."""
        while True:
            piece, end_of_chunk = await self._content.readchunk()
            if piece or not end_of_chunk:
                return piece


def body_failure(request: web.Request) -> BaseException | None:
    """What ended the request's body early (the client left, or broke its framing), if anything."""
    owned = owned_body(request)
    if owned is not None and owned.exception() is not None:
        return owned.exception()
    return request.content.exception()


async def gathered(
    request: web.Request, pause: float = PAUSE, idle_timeout: float | None = None
) -> AsyncIterator[Batch]:
    """The request body as it arrives, in batches gathered by short pauses while it trickles; the
    connection is closed when the client sends nothing for `idle_timeout` seconds.

    A batch is what arrived since the last one, in pieces never joined: views of the socket's
    reads when the connection decodes the body itself (gateway/ops/owned_bodies.py), otherwise
    the pieces aiohttp's parser fed, one per HTTP chunk. The writer of the upstream request sends
    a batch with one writev (relayed_body.py)."""
    owned = owned_body(request)
    body: OwnedBody | _ParsedBody = owned or _ParsedBody(request.content)
    full = FULL_READ if owned is None else FULL_OWNED_READ
    transport = request.transport
    watch = _IdleWatch(request, idle_timeout) if idle_timeout else None
    loop = asyncio.get_running_loop()
    try:
        while True:
            if watch is not None:
                watch.waiting_since = loop.time()
            batch = await body.batch()
            if watch is not None:
                watch.waiting_since = None
            if not batch:
                return
            if (
                sum(map(len, batch)) >= full or body.at_eof() or transport is None
                or not transport.is_reading()
            ):
                yield batch
                continue  # a full read, the end of the body, or flow control holds it already
            transport.pause_reading()  # from now: while the registry takes the batch, and a pause
            try:
                yield batch
                await asyncio.sleep(pause)
            finally:
                if not transport.is_closing():
                    transport.resume_reading()
    finally:
        if watch is not None:
            watch.stop()
