"""Blob bodies from the registry to the client without passing through Python: splice(2).

Once the answer's headers are out, a large body of known length moves upstream socket -> pipe
-> client socket inside the kernel: no copies into Python buffers, no per-chunk Python work.
Only for plain TCP on both sides (TLS needs the bytes in user space) and only on Linux; the
caller streams as usual when `splice_body` says it did nothing. The upstream connection is
closed afterwards (aiohttp's parser never saw the body, so it must not be reused).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import socket

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

SPLICE_MIN_BYTES = 1024 * 1024
_PIPE_BYTES = 1024 * 1024
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)


def plain_socket(transport: asyncio.BaseTransport | None) -> socket.socket | None:
    if transport is None or transport.is_closing() or transport.get_extra_info("ssl_object") is not None:
        return None
    sock = transport.get_extra_info("socket")
    return sock if sock is not None and sock.type == socket.SOCK_STREAM else None


async def _ready(loop: asyncio.AbstractEventLoop, read_fd: int | None, write_fd: int | None, timeout: float | None) -> None:
    """Until `read_fd` is readable or `write_fd` writable (whichever was given)."""
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    if read_fd is not None:
        loop.add_reader(read_fd, wake)
    if write_fd is not None:
        loop.add_writer(write_fd, wake)
    try:
        await asyncio.wait_for(ready, timeout)
    finally:
        if read_fd is not None:
            loop.remove_reader(read_fd)
        if write_fd is not None:
            loop.remove_writer(write_fd)


async def splice_body(
    request: web.Request, response: web.StreamResponse, upstream: aiohttp.ClientResponse, read_timeout: float | None,
    client_timeout: float | None = None,
) -> bool:
    """Send the rest of `upstream`'s body to the client with splice(2); False (having done
    nothing) when that does not apply. Raises ConnectionError when either side fails, or stalls:
    the registry for `read_timeout`, the client (taking nothing) for `client_timeout`."""
    length = upstream.content_length
    connection = upstream.connection
    # The response's writer (set by prepare): its byte count becomes the access log's bytes_out.
    writer = getattr(request, "_payload_writer", None)
    if (
        not hasattr(os, "splice") or request.method != "GET" or length is None or length < SPLICE_MIN_BYTES
        or connection is None or writer is None
    ):
        return False
    client_sock = plain_socket(request.transport)
    upstream_sock = plain_socket(connection.transport)
    if client_sock is None or upstream_sock is None or connection.transport is None:
        return False
    try:
        buffered = upstream.content.read_nowait()
    except RuntimeError:  # someone is already waiting on the reader: leave it to aiohttp
        return False
    # Reading what aiohttp buffered may have resumed its transport; stopping it here, with no
    # await in between, leaves every later byte in the socket for splice.
    connection.transport.pause_reading()
    if buffered:
        await response.write(buffered)
    while request.transport is not None and request.transport.get_write_buffer_size():
        await asyncio.sleep(0.001)  # what aiohttp still holds must go out before our bytes
    loop = asyncio.get_running_loop()
    remaining = length - len(buffered)
    pipe_out, pipe_in = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    source, target = os.dup(upstream_sock.fileno()), os.dup(client_sock.fileno())
    in_pipe = sent = 0
    try:
        try:
            capacity = fcntl.fcntl(pipe_in, _F_SETPIPE_SZ, _PIPE_BYTES)
        except OSError:
            capacity = fcntl.fcntl(pipe_in, _F_GETPIPE_SZ)
        while remaining or in_pipe:
            moved = False
            if remaining and in_pipe < capacity:
                try:
                    count = os.splice(source, pipe_in, min(remaining, capacity - in_pipe), flags=_FLAGS)
                except BlockingIOError:
                    count = -1
                if count == 0:
                    raise ConnectionResetError("the registry closed the connection mid-body")
                if count > 0:
                    remaining, in_pipe, moved = remaining - count, in_pipe + count, True
            if in_pipe:
                try:
                    count = os.splice(pipe_out, target, in_pipe, flags=_FLAGS)
                except BlockingIOError:
                    count = 0
                if count:
                    in_pipe, sent, moved = in_pipe - count, sent + count, True
            if not moved:
                wait_read = source if remaining and in_pipe < capacity else None
                await _ready(loop, wait_read, target if in_pipe else None, read_timeout if in_pipe == 0 else client_timeout)
    except TimeoutError:
        raise ConnectionResetError("the client stopped reading" if in_pipe else "the registry stalled mid-body") from None
    except ConnectionError:
        raise
    except OSError as exc:  # splice refused these sockets after all: nothing safe to resume
        log.warning("splice of %s failed after %d bytes: %s", request.path, sent, exc)
        raise ConnectionResetError(str(exc)) from None
    finally:
        writer.output_size += sent
        for fd in (pipe_out, pipe_in, source, target):
            os.close(fd)
        upstream.close()
    return True
