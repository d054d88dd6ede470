"""Upload bodies read in fewer, larger pieces.

Clients that compress as they push (skopeo, podman, docker) send a layer as one chunked PATCH of
32 KiB chunks, each flushed on its own and its closing CRLF in a TCP segment of its own. Read as
it comes, a 200 MiB push was 3,600-5,500 reads on the bench machine (a thousand of them the two
CRLF bytes), each a wake-up of the event loop, a system call, a pass through the HTTP parser and
a send to the registry: most of what the upload cost the gateway.

So when a read brings less than `FULL_READ`, the body is arriving slower than it can be read,
and the gateway stops reading from that client for `PAUSE` seconds; the kernel keeps what arrives
meanwhile, and the next read takes all of it. A client that keeps up fills every read and is
never paused. The pause cannot slow the client down while the socket's receive buffer (Linux
grows it to megabytes) holds more than `PAUSE` of its traffic, and a slow client is read no more
often than before: a pause adds a timer and two epoll calls to a read, then waits for its bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

# aiohttp stops reading a request body by itself at 128 KiB buffered (twice its 64 KiB limit):
# a read that brings that much came from a client that keeps up.
FULL_READ = 128 * 1024
PAUSE = 0.002


async def gathered(request: web.Request, pause: float = PAUSE) -> AsyncIterator[bytes]:
    """The request body as it arrives, in pieces gathered by short pauses while it trickles."""
    content = request.content
    transport = request.transport
    while True:
        piece = await content.readany()
        if not piece:
            return
        yield piece
        if len(piece) >= FULL_READ or content.at_eof() or transport is None or not transport.is_reading():
            continue  # a full read, the end of the body, or aiohttp's own flow control holds it
        transport.pause_reading()
        try:
            await asyncio.sleep(pause)
        finally:
            if not transport.is_closing():
                transport.resume_reading()
