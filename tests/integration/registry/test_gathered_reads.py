"""Upload bodies that trickle in are read in gathered pieces, over real sockets: an aiohttp
server reads with `gathered` while a raw client sends a chunked body the way skopeo does (small
chunks, each flushed on its own)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from gateway.registry.gathered_reads import gathered
from tests.support.processes import free_port

PAUSE = 0.05  # long enough that a loaded machine's timer slack cannot blur the pieces

Server = Callable[[float], Awaitable[tuple[int, list[dict[str, object]]]]]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """Start a server whose handler reads its body with `gathered(pause)` and reports what it got."""
    runners: list[web.AppRunner] = []
    seen: list[dict[str, object]] = []

    async def start(pause: float) -> tuple[int, list[dict[str, object]]]:
        async def handler(request: web.Request) -> web.Response:
            pieces, digest, size = 0, hashlib.sha256(), 0
            try:
                async for piece in gathered(request, pause):
                    pieces += 1
                    size += len(piece)
                    digest.update(piece)
            except Exception as exc:  # what the client's departure looks like to the reader
                seen.append({"error": type(exc).__name__})
                raise
            report = {"pieces": pieces, "size": size, "sha256": digest.hexdigest()}
            seen.append(report)
            return web.json_response(report)

        app = web.Application()
        app.router.add_put("/body", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return port, seen

    yield start
    for runner in runners:
        await runner.cleanup()


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    writer.write(b"PUT /body HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n")
    await writer.drain()
    return reader, writer


async def _send_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    """One chunk as Go's HTTP client sends it: size line and data, then the CRLF on its own."""
    writer.write(b"%x\r\n" % len(data) + data)
    await writer.drain()
    writer.write(b"\r\n")
    await writer.drain()


async def test_a_trickling_body_is_read_in_a_few_gathered_pieces_intact(server: Server) -> None:
    port, _ = await server(PAUSE)
    chunks = [os.urandom(1024 + n) for n in range(100)]
    reader, writer = await _open(port)
    for chunk in chunks:
        await _send_chunk(writer, chunk)
        await asyncio.sleep(0.002)
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    head, _, body = (await asyncio.wait_for(reader.read(65536), 10)).partition(b"\r\n\r\n")
    writer.close()
    assert head.startswith(b"HTTP/1.1 200"), head
    report = json.loads(body)
    data = b"".join(chunks)
    assert report["size"] == len(data)
    assert report["sha256"] == hashlib.sha256(data).hexdigest()
    # 100 chunks over at least 200 ms, read as they came, would be about 100 pieces; pausing 50 ms
    # after each small read leaves a handful.
    assert report["pieces"] <= 12, report


async def test_a_client_gone_during_a_pause_ends_the_read_with_an_error(server: Server) -> None:
    port, seen = await server(0.3)
    reader, writer = await _open(port)
    await _send_chunk(writer, os.urandom(4096))
    await asyncio.sleep(0.05)  # the server has read the chunk and is pausing now
    writer.transport.abort()

    async def reported() -> None:
        while not seen:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(reported(), 5)
    # Reading resumed after the pause, so the reader hears of the reset instead of waiting forever.
    assert seen == [{"error": "ConnectionResetError"}]
