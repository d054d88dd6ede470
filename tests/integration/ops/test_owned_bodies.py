"""Chunked upload bodies read by the connection's protocol instead of aiohttp's parser, over real
sockets: an aiohttp server run by the gateway's runner, its handlers reading with `gathered`,
and a raw client that sends what skopeo sends, and what an attacker would."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from gateway.ops.chunked_decoder import ChunkedError
from gateway.ops.connections import GatewayRunner
from gateway.ops.owned_bodies import HIGH_WATER, owned_body
from gateway.registry.gathered_reads import gathered
from tests.support.client import send_chunk
from tests.support.deployment import Certificate, make_certificate
from tests.support.processes import free_port

MiB = 1024 * 1024


class Seen:
    """What the handlers saw."""

    def __init__(self) -> None:
        self.hello = 0
        self.errors: list[str] = []
        self.paused: list[bool] = []
        self.read_into_buffers: list[bool] = []
        self.back_to_aiohttp: list[bool] = []
        self.client_tls: ssl.SSLContext | None = None


def _owns(method: str, target: str) -> bool:
    return target.startswith(("/up/", "/refuse", "/slow"))


async def _read_all(request: web.Request, seen: Seen) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    try:
        async for batch in gathered(request, pause=0):
            for piece in batch:
                digest.update(piece)
                size += len(piece)
    except (ChunkedError, ConnectionError) as exc:
        seen.errors.append(type(exc).__name__)
        raise
    return {"owned": owned_body(request) is not None, "size": size, "sha256": digest.hexdigest()}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("pki"))


@pytest.fixture(params=["plain", "tls"])
async def server(request: pytest.FixtureRequest, certificate: Certificate) -> AsyncIterator[tuple[int, Seen]]:
    """The server, over plain TCP or TLS (then the transport whose protocol is switched is TLS's)."""
    seen = Seen()
    server_tls = None
    if request.param == "tls":
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(certificate.cert, certificate.key)
        seen.client_tls = ssl.create_default_context(cafile=str(certificate.cert))

    async def upload(request: web.Request) -> web.Response:
        try:
            return web.json_response(await _read_all(request, seen))
        except ChunkedError as exc:
            return web.json_response({"error": str(exc)}, status=400)

    async def slow(request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while request.transport is not None and request.transport.is_reading() and loop.time() < deadline:
            await asyncio.sleep(0.01)  # the client keeps sending; nobody reads yet
        seen.paused.append(request.transport is not None and not request.transport.is_reading())
        protocol = request.transport.get_protocol() if request.transport is not None else None
        seen.read_into_buffers.append(isinstance(protocol, asyncio.BufferedProtocol))
        return web.json_response(await _read_all(request, seen))

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"refused": True}, status=401)

    async def parsed(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response({"owned": owned_body(request) is not None, "size": len(body)})

    async def hello(request: web.Request) -> web.Response:
        seen.hello += 1
        seen.back_to_aiohttp.append(request.transport is not None and request.transport.get_protocol() is request.protocol)
        return web.json_response({"hello": seen.hello})

    app = web.Application()
    app.router.add_patch("/up/{name}", upload)
    app.router.add_patch("/slow", slow)
    app.router.add_patch("/refuse", refuse)
    app.router.add_route("*", "/parsed", parsed)
    app.router.add_get("/hello", hello)
    runner = GatewayRunner(app, header_timeout=30, owns=_owns, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=server_tls).start()
    yield port, seen
    await runner.cleanup()


async def _connect(port: int, seen: Seen) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, ssl=seen.client_tls)


def _head(method: str, target: str, *fields: str) -> bytes:
    return ("\r\n".join([f"{method} {target} HTTP/1.1", "Host: test", *fields]) + "\r\n\r\n").encode()


def _chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).decode()
    length = next(int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.lower().startswith("content-length:"))
    body = await asyncio.wait_for(reader.readexactly(length), 30)
    return int(head.split(" ", 2)[1]), json.loads(body)


def _sha256(*parts: bytes) -> str:
    return hashlib.sha256(b"".join(parts)).hexdigest()


async def test_a_chunked_upload_is_read_by_the_protocol_and_the_connection_goes_on(server: tuple[int, Seen]) -> None:
    port, seen = server
    parts = [os.urandom(size) for size in (1, 32768, 7, 32768, 100_003, 2)]
    reader, writer = await _connect(port, seen)
    writer.write(_head("PATCH", "/up/a", "Transfer-Encoding: chunked"))
    for part in parts:
        await send_chunk(writer, part)  # the size line and data, then the CRLF on its own, as skopeo
    writer.write(b"0\r\n\r\n")
    assert await _response(reader) == (200, {"owned": True, "size": sum(map(len, parts)), "sha256": _sha256(*parts)})
    writer.write(_head("GET", "/hello"))
    assert await _response(reader) == (200, {"hello": 1})
    writer.close()


async def test_requests_pipelined_around_an_owned_body_are_answered_in_order(server: tuple[int, Seen]) -> None:
    port, seen = server
    part = os.urandom(70_000)
    reader, writer = await _connect(port, seen)
    writer.write(
        _head("PUT", "/parsed", "Content-Length: 10") + b"0123456789"
        + _head("PATCH", "/up/b", "Transfer-Encoding: chunked") + _chunked(part, part)
        + _head("GET", "/hello")
        + _head("PATCH", "/up/c", "Transfer-Encoding: chunked") + _chunked(b"x")
    )
    assert await _response(reader) == (200, {"owned": False, "size": 10})
    assert await _response(reader) == (200, {"owned": True, "size": 140_000, "sha256": _sha256(part, part)})
    assert await _response(reader) == (200, {"hello": 1})
    assert await _response(reader) == (200, {"owned": True, "size": 1, "sha256": _sha256(b"x")})
    writer.close()


async def test_a_chunked_body_not_picked_is_aiohttps_and_so_is_the_rest_of_the_connection(server: tuple[int, Seen]) -> None:
    port, seen = server
    reader, writer = await _connect(port, seen)
    writer.write(_head("POST", "/parsed", "Transfer-Encoding: chunked") + _chunked(b"abc", b"de"))
    assert await _response(reader) == (200, {"owned": False, "size": 5})
    writer.write(_head("PATCH", "/up/d", "Transfer-Encoding: chunked") + _chunked(b"later"))
    assert await _response(reader) == (200, {"owned": False, "size": 5, "sha256": _sha256(b"later")})
    writer.close()


async def test_broken_framing_fails_the_reader_and_what_follows_is_never_a_request(server: tuple[int, Seen]) -> None:
    port, seen = server
    reader, writer = await _connect(port, seen)
    writer.write(
        _head("PATCH", "/up/e", "Transfer-Encoding: chunked")
        + b"5\r\nabcde\r\nzz\r\n" + _head("GET", "/hello")
    )
    status, answer = await _response(reader)
    assert status == 400 and "chunk-size" in answer["error"]
    assert await asyncio.wait_for(reader.read(), 30) == b""  # closed after the answer
    assert seen.errors == ["ChunkedError"]
    assert seen.hello == 0


async def test_a_head_with_two_framings_is_refused_and_never_owned(server: tuple[int, Seen]) -> None:
    port, seen = server
    reader, writer = await _connect(port, seen)
    writer.write(
        _head("PATCH", "/up/f", "Content-Length: 5", "Transfer-Encoding: chunked")
        + b"0\r\n\r\n" + _head("GET", "/hello")
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    assert head.split(b" ", 2)[1] == b"400"
    await asyncio.wait_for(reader.read(), 30)
    assert seen.hello == 0


async def test_a_body_nobody_reads_is_dropped_and_the_connection_goes_on(server: tuple[int, Seen]) -> None:
    port, seen = server
    part = os.urandom(MiB)
    reader, writer = await _connect(port, seen)
    writer.write(_head("PATCH", "/refuse", "Transfer-Encoding: chunked"))
    assert await _response(reader) == (401, {"refused": True})
    writer.write(_chunked(*[part] * (3 * HIGH_WATER // MiB)) + _head("GET", "/hello"))
    assert await _response(reader) == (200, {"hello": 1})
    writer.close()


async def test_a_reader_that_lags_holds_the_client_back(server: tuple[int, Seen]) -> None:
    port, seen = server
    part = os.urandom(MiB)
    count = 4 * HIGH_WATER // MiB
    reader, writer = await _connect(port, seen)
    writer.write(_head("PATCH", "/slow", "Transfer-Encoding: chunked"))
    for _ in range(count):
        await send_chunk(writer, part)
    writer.write(b"0\r\n\r\n")
    assert await _response(reader) == (200, {"owned": True, "size": count * MiB, "sha256": _sha256(*[part] * count)})
    assert seen.paused == [True]
    assert seen.read_into_buffers == [True]  # the kernel copies into the gateway's buffers
    writer.write(_head("GET", "/hello"))
    assert await _response(reader) == (200, {"hello": 1})
    assert seen.back_to_aiohttp == [True]
    writer.close()


async def test_a_compressed_body_is_left_to_aiohttp_which_inflates_it(server: tuple[int, Seen]) -> None:
    port, seen = server
    data = os.urandom(50_000) + b"a" * 200_000
    packed = gzip.compress(data)
    reader, writer = await _connect(port, seen)
    writer.write(_head("PATCH", "/up/z", "Transfer-Encoding: chunked", "Content-Encoding: gzip") + _chunked(packed))
    assert await _response(reader) == (200, {"owned": False, "size": len(data), "sha256": _sha256(data)})
    writer.close()


async def test_a_body_of_tiny_chunks_holds_the_client_back_before_its_views_pile_up(server: tuple[int, Seen]) -> None:
    port, seen = server
    count = HIGH_WATER // 4  # bytes enough to hold it back only if each piece counts for more than its byte
    reader, writer = await _connect(port, seen)
    writer.write(_head("PATCH", "/slow", "Transfer-Encoding: chunked"))
    for start in range(0, count, 1000):
        writer.write(b"1\r\nx\r\n" * min(1000, count - start))
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    assert await _response(reader) == (200, {"owned": True, "size": count, "sha256": _sha256(b"x" * count)})
    assert seen.paused == [True]
    writer.close()


async def test_a_client_that_leaves_mid_body_fails_the_reader(server: tuple[int, Seen]) -> None:
    port, seen = server
    _reader, writer = await _connect(port, seen)
    writer.write(_head("PATCH", "/up/g", "Transfer-Encoding: chunked") + b"8000\r\n" + b"x" * 100)
    await writer.drain()
    await asyncio.sleep(0.1)  # let the handler start reading; the test does not depend on it
    writer.transport.abort()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while not seen.errors and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert seen.errors and seen.errors[0] in ("ConnectionResetError", "ConnectionError")
