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
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from gateway.ops.connections import GatewayRunner
from gateway.registry.gathered_reads import gathered
from tests.support.client import send_chunk
from tests.support.processes import free_port

# Long against what the test does inside a pause (a hundred writes to a local socket), so that
# the pause, not the machine's speed, decides how the pieces fall; the test never waits it out idle.
PAUSE = 1.0


@dataclass
class Seen:
    """What the server's handler saw: a report per finished request, and the request in progress."""

    reports: list[dict[str, object]] = field(default_factory=list)
    pieces: int = 0
    transport: asyncio.Transport | None = None
    reading_while_relayed: list[bool] = field(default_factory=list)


Server = Callable[[float], Awaitable[tuple[int, Seen]]]


@pytest.fixture(params=["aiohttp", "owned"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    """Start a server whose handler reads its body with `gathered(pause)` and reports what it got:
    the body parsed by aiohttp, or decoded by the connection (gateway/ops/owned_bodies.py)."""
    runners: list[web.AppRunner] = []
    seen = Seen()

    async def start(pause: float) -> tuple[int, Seen]:
        async def handler(request: web.Request) -> web.Response:
            digest, size = hashlib.sha256(), 0
            seen.pieces, seen.transport = 0, request.transport
            try:
                async for batch in gathered(request, pause):
                    seen.pieces += 1
                    seen.reading_while_relayed.append(request.transport is not None and request.transport.is_reading())
                    for piece in batch:
                        size += len(piece)
                        digest.update(piece)
            except Exception as exc:  # what the client's departure looks like to the reader
                seen.reports.append({"error": type(exc).__name__})
                raise
            report = {"pieces": seen.pieces, "size": size, "sha256": digest.hexdigest()}
            seen.reports.append(report)
            return web.json_response(report)

        app = web.Application()
        app.router.add_put("/body", handler)
        runner = (
            web.AppRunner(app, access_log=None) if request.param == "aiohttp"
            else GatewayRunner(app, header_timeout=30, owns=lambda method, target: target == "/body", access_log=None)
        )
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



async def _first_piece_read(seen: Seen) -> None:
    """Until the handler has its first piece: then `gathered` has stopped reading for its pause."""
    deadline = asyncio.get_running_loop().time() + 10
    while seen.pieces == 0:
        assert asyncio.get_running_loop().time() < deadline, "the server never read the first chunk"
        await asyncio.sleep(0.001)


async def test_a_trickling_body_is_read_in_a_few_gathered_pieces_intact(server: Server) -> None:
    port, seen = await server(PAUSE)
    chunks = [os.urandom(1024 + n) for n in range(100)]
    reader, writer = await _open(port)
    await send_chunk(writer, chunks[0])
    await _first_piece_read(seen)
    for chunk in chunks[1:]:
        await send_chunk(writer, chunk)  # each flushed, and the server given its turn to read it
        await asyncio.sleep(0)
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    head, _, body = (await asyncio.wait_for(reader.read(65536), 10)).partition(b"\r\n\r\n")
    writer.close()
    assert head.startswith(b"HTTP/1.1 200"), head
    report = json.loads(body)
    data = b"".join(chunks)
    assert report["size"] == len(data)
    assert report["sha256"] == hashlib.sha256(data).hexdigest()
    # A reader that read as the chunks came would see dozens of pieces; one paused after its first
    # small read finds the other 99 chunks waiting and takes them in one or two reads.
    assert report["pieces"] <= 3, report
    # The client is not read while a small batch goes on to the registry either: the registry sets the pace.
    assert seen.reading_while_relayed[0] is False


async def test_a_client_gone_during_a_pause_ends_the_read_with_an_error(server: Server) -> None:
    port, seen = await server(PAUSE)
    _reader, writer = await _open(port)
    await send_chunk(writer, os.urandom(4096))
    await _first_piece_read(seen)
    assert seen.transport is not None and not seen.transport.is_reading(), "the server is pausing now"
    writer.transport.abort()

    async def reported() -> None:
        while not seen.reports:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(reported(), PAUSE + 10)
    # Reading resumed after the pause, so the reader hears of the reset instead of waiting forever.
    assert seen.reports == [{"error": "ConnectionResetError"}]
