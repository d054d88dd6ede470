"""Slow clients against a real gateway: request headers have a deadline (server.header_timeout),
idle kept-alive connections a limit (server.keepalive_timeout); a slow body does not count."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from tests.support.client import bearer
from tests.support.processes import Gateway
from tests.support.waiting import eventually

DRIP_SECONDS = 0.4
DEADLINE_SECONDS = 10.0  # generous: the bound under test is 1 s


@pytest.fixture
def impatient_gateway(make_gateway: Callable[..., Gateway]) -> Gateway:
    return make_gateway({"GATEWAY_SERVER_HEADER_TIMEOUT": "1", "GATEWAY_SERVER_KEEPALIVE_TIMEOUT": "1"})


async def _closed_by_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drip: bool) -> bool:
    """Send a header line every DRIP_SECONDS (or nothing) until the server closes; False if it
    has not closed within DEADLINE_SECONDS."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    line = 0
    while time.monotonic() < deadline:
        try:
            if drip:
                writer.write(f"X-Drip-{line}: still typing\r\n".encode())
                await writer.drain()
                line += 1
            if await asyncio.wait_for(reader.read(65536), DRIP_SECONDS) == b"":
                return True
        except TimeoutError:
            continue
        except ConnectionError:
            return True
    return False


async def _connection(gateway: Gateway) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", gateway.port)


async def _log_says(gateway: Gateway, words: str) -> str:
    return await eventually(gateway.log_text, lambda text: words in text)


async def test_a_client_dripping_its_headers_is_closed_after_the_header_timeout(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway({"GATEWAY_SERVER_HEADER_TIMEOUT": "1"})
    reader, writer = await _connection(gateway)
    try:
        writer.write(f"GET /v2/ HTTP/1.1\r\nHost: {gateway.host}\r\n".encode())
        assert await _closed_by_server(reader, writer, drip=True), f"still open after {DEADLINE_SECONDS}s"
    finally:
        writer.close()
    words = "closing the connection from 127.0.0.1: request headers not complete within 1s"
    assert words in await _log_says(gateway, words)


async def test_a_client_that_connects_and_sends_nothing_is_closed(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway({"GATEWAY_SERVER_HEADER_TIMEOUT": "1"})
    reader, writer = await _connection(gateway)
    try:
        assert await _closed_by_server(reader, writer, drip=False), f"still open after {DEADLINE_SECONDS}s"
    finally:
        writer.close()


async def test_the_second_request_on_a_kept_alive_connection_has_the_deadline_too(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway({"GATEWAY_SERVER_HEADER_TIMEOUT": "1"})
    reader, writer = await _connection(gateway)
    try:
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {gateway.host}\r\n\r\n".encode())
        assert (await asyncio.wait_for(reader.readline(), 10)).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(1.5)  # idle between requests is the keep-alive's business (75 s here), not the deadline's
        writer.write(f"GET /v2/ HTTP/1.1\r\nHost: {gateway.host}\r\n".encode())
        assert await _closed_by_server(reader, writer, drip=True), f"still open after {DEADLINE_SECONDS}s"
    finally:
        writer.close()


async def test_an_idle_kept_alive_connection_is_closed_after_the_keepalive_timeout(impatient_gateway: Gateway) -> None:
    reader, writer = await _connection(impatient_gateway)
    try:
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {impatient_gateway.host}\r\n\r\n".encode())
        assert (await asyncio.wait_for(reader.readline(), 10)).startswith(b"HTTP/1.1 200")
        assert await _closed_by_server(reader, writer, drip=False), f"still open after {DEADLINE_SECONDS}s"
    finally:
        writer.close()


async def test_a_slow_upload_whose_headers_came_in_time_completes(impatient_gateway: Gateway) -> None:
    gateway = impatient_gateway
    chunks = [f"chunk {n} of a slow layer\n".encode() * 100 for n in range(8)]
    digest = "sha256:" + hashlib.sha256(b"".join(chunks)).hexdigest()

    async def slowly() -> AsyncIterator[bytes]:
        for chunk in chunks:  # 8 x 0.4 s: the body takes three times the header timeout
            await asyncio.sleep(DRIP_SECONDS)
            yield chunk

    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/slow:pull,push")
        async with session.post(f"{gateway.url}/v2/alice/slow/blobs/uploads/", headers=headers) as started:
            assert started.status == 202, await started.text()
            location = started.headers["Location"]
        async with session.patch(location, data=slowly(), headers=headers) as patched:
            assert patched.status == 202, await patched.text()
            location = patched.headers["Location"]
        async with session.put(location, params={"digest": digest}, headers=headers) as done:
            assert done.status == 201, await done.text()
        async with session.get(f"{gateway.url}/v2/alice/slow/blobs/{digest}", headers=headers) as fetched:
            assert fetched.status == 200 and await fetched.read() == b"".join(chunks)
