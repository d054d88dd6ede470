"""Large uploads streamed to the registry: the registry gets exactly the client's bytes, the access
log counts them, the registry's refusals reach the client, and a client that breaks off an
upload leaves nothing behind."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.support.client import bearer, send_chunk
from tests.support.processes import Gateway
from tests.support.waiting import eventually

MiB = 1024 * 1024


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def _start(session: aiohttp.ClientSession, gateway: Gateway, repository: str, auth: dict[str, str]) -> str:
    async with session.post(f"{gateway.url}/v2/{repository}/blobs/uploads/", headers=auth) as response:
        assert response.status == 202, await response.text()
        return response.headers["Location"]


async def _blob(session: aiohttp.ClientSession, gateway: Gateway, repository: str, digest: str, auth: dict[str, str]) -> bytes:
    async with session.get(f"{gateway.url}/v2/{repository}/blobs/{digest}", headers=auth) as response:
        assert response.status == 200, await response.text()
        return await response.read()


async def _access_line(gateway: Gateway, method: str, path_part: str) -> dict[str, Any]:
    def latest() -> dict[str, Any] | None:
        for text in reversed(gateway.log_text().splitlines()):
            line = json.loads(text) if text.startswith("{") else {}
            if line.get("logger") == "gateway.access" and line.get("method") == method and path_part in line.get("path", ""):
                return line
        return None

    found = await eventually(latest, lambda line: line is not None)
    assert found is not None, f"no access line for {method} {path_part}"
    return found


async def test_a_large_put_reaches_the_registry_byte_for_byte(
    make_gateway: Callable[..., Gateway],
) -> None:
    gateway = make_gateway({"GATEWAY_LOG_FORMAT": "json"})
    data = os.urandom(5 * MiB + 3)
    digest = _digest(data)
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/spliced:pull,push")
        location = await _start(session, gateway, "alice/spliced", auth)
        async with session.put(location, params={"digest": digest}, data=data, headers=auth) as response:
            assert response.status == 201, await response.text()
            assert response.headers["Docker-Content-Digest"] == digest
        assert await _blob(session, gateway, "alice/spliced", digest, auth) == data
    line = await _access_line(gateway, "PUT", "/blobs/uploads/")
    assert line["status"] == 201
    assert line["bytes_in"] == len(data), "the access log counts the bytes received"


async def test_chunked_patches_arrive_in_order_and_the_upload_completes(gateway: Gateway) -> None:
    parts = [os.urandom(2 * MiB + n) for n in range(3)]
    data = b"".join(parts)
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/patched:pull,push")
        location = await _start(session, gateway, "alice/patched", auth)
        offset = 0
        for part in parts:
            headers = {**auth, "Content-Range": f"{offset}-{offset + len(part) - 1}", "Content-Type": "application/octet-stream"}
            async with session.patch(location, data=part, headers=headers) as response:
                assert response.status == 202, await response.text()
                offset += len(part)
                assert response.headers["Range"] == f"0-{offset - 1}"
                location = response.headers["Location"]
        async with session.put(location, params={"digest": _digest(data)}, headers=auth) as response:
            assert response.status == 201, await response.text()
        assert await _blob(session, gateway, "alice/patched", _digest(data), auth) == data


async def test_the_registrys_refusal_of_an_upload_reaches_the_client(gateway: Gateway) -> None:
    data = os.urandom(2 * MiB)
    wrong = _digest(b"something else")
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/refused:pull,push")
        location = await _start(session, gateway, "alice/refused", auth)
        async with session.put(location, params={"digest": wrong}, data=data, headers=auth) as response:
            assert response.status == 400
            assert (await response.json())["errors"][0]["code"] == "DIGEST_INVALID"
        async with session.head(f"{gateway.url}/v2/alice/refused/blobs/{_digest(data)}", headers=auth) as response:
            assert response.status == 404


async def test_a_client_that_breaks_off_an_upload_leaves_nothing_behind(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway()
    assert gateway.process is not None
    data = os.urandom(8 * MiB)
    digest = _digest(data)
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/broken:pull,push")
        location = await _start(session, gateway, "alice/broken", auth)  # warm: the upstream pool is open
        descriptors = len(os.listdir(f"/proc/{gateway.process.pid}/fd"))
        for _ in range(5):
            location = await _start(session, gateway, "alice/broken", auth)
            target = location.split(gateway.url, 1)[-1]
            _reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
            writer.write(
                f"PUT {target}&digest={digest} HTTP/1.1\r\nHost: {gateway.host}\r\nAuthorization: {auth['Authorization']}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            )
            writer.write(data[: 3 * MiB])
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.transport.abort()
        async with session.head(f"{gateway.url}/v2/alice/broken/blobs/{digest}", headers=auth) as response:
            assert response.status == 404, "no broken-off body became a blob"
        location = await _start(session, gateway, "alice/broken", auth)
        async with session.put(location, params={"digest": digest}, data=data, headers=auth) as response:
            assert response.status == 201, await response.text()
        count = await eventually(lambda: len(os.listdir(f"/proc/{gateway.process.pid}/fd")), lambda n: n <= descriptors)
        assert count <= descriptors, "sockets and pipes of broken uploads are closed"
    # Info lines are written in batches, a fraction of a second later.
    log = await eventually(gateway.log_text, lambda text: text.count("cut short by the client") >= 5)
    assert "Traceback" not in log
    assert "upstream unavailable" not in log, "a client leaving is not the registry failing"
    assert log.count("cut short by the client") == 5


async def _chunked_patch(gateway: Gateway, location: str, auth: dict[str, str]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A PATCH whose body follows in chunks, sent from a bare socket as Go's HTTP client does."""
    target = location.split(gateway.url, 1)[-1]
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(
        f"PATCH {target} HTTP/1.1\r\nHost: {gateway.host}\r\nAuthorization: {auth['Authorization']}\r\n"
        "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    return reader, writer



async def test_a_chunked_patch_of_odd_chunk_sizes_arrives_byte_for_byte(gateway: Gateway) -> None:
    sizes = [1, 7, 32768, 32769, 3, 131072 + 5, 65535, 1, 300_001, 2]
    parts = [os.urandom(size) for size in sizes]
    data = b"".join(parts)
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/odd-chunks:pull,push")
        location = await _start(session, gateway, "alice/odd-chunks", auth)
        reader, writer = await _chunked_patch(gateway, location, auth)
        for index, part in enumerate(parts):
            await send_chunk(writer, part)
            if index % 3 == 0:
                await asyncio.sleep(0.01)  # some arrive alone, others together
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).decode()
        writer.close()
        assert head.startswith("HTTP/1.1 202"), head
        location = next(line.split(": ", 1)[1] for line in head.split("\r\n") if line.lower().startswith("location:"))
        async with session.put(location, params={"digest": _digest(data)}, headers=auth) as response:
            assert response.status == 201, await response.text()
        assert await _blob(session, gateway, "alice/odd-chunks", _digest(data), auth) == data


async def test_a_client_that_stops_mid_chunked_patch_gets_the_upload_cut_and_can_resume(
    make_gateway: Callable[..., Gateway],
) -> None:
    gateway = make_gateway()
    data = os.urandom(3 * MiB)
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/stopped:pull,push")
        location = await _start(session, gateway, "alice/stopped", auth)
        _reader, writer = await _chunked_patch(gateway, location, auth)
        for offset in range(0, 2 * MiB, 32768):
            await send_chunk(writer, data[offset : offset + 32768])
        writer.write(b"8000\r\n" + data[:100])  # a chunk begun and never finished
        await writer.drain()
        writer.transport.abort()
        log = await eventually(gateway.log_text, lambda text: "cut short by the client" in text)
        assert "Traceback" not in log
        # The registry never took the broken body: a fresh upload of the whole blob completes.
        location = await _start(session, gateway, "alice/stopped", auth)
        async with session.put(location, params={"digest": _digest(data)}, data=data, headers=auth) as response:
            assert response.status == 201, await response.text()
        assert await _blob(session, gateway, "alice/stopped", _digest(data), auth) == data


async def test_a_chunked_patch_with_broken_framing_is_refused_and_smuggles_nothing(gateway: Gateway) -> None:
    """The gateway decodes upload bodies itself: a chunk-size line it cannot read ends the upload
    with an OCI error and the connection, and what follows the broken line (here a request for a
    private repository, without a token) never reaches the registry as a request."""
    data = os.urandom(100_000)
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/broken-framing:pull,push")
        location = await _start(session, gateway, "alice/broken-framing", auth)
        reader, writer = await _chunked_patch(gateway, location, auth)
        await send_chunk(writer, data[:50_000])
        writer.write(
            b"4 \r\nabcd\r\n0\r\n\r\n"  # a space after the size: not chunked coding
            + f"GET /v2/bob/private/manifests/latest HTTP/1.1\r\nHost: {gateway.host}\r\n\r\n".encode()
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)  # all of it: the gateway closes the connection
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), head
        assert json.loads(body)["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
        assert answer.count(b"HTTP/1.1") == 1
        # The registry never took the broken body: the upload completes from where it was, with all of it.
        location = await _start(session, gateway, "alice/broken-framing", auth)
        async with session.put(location, params={"digest": _digest(data)}, data=data, headers=auth) as response:
            assert response.status == 201, await response.text()
        assert await _blob(session, gateway, "alice/broken-framing", _digest(data), auth) == data
    assert "GET /v2/bob/private" not in gateway.log_text()
