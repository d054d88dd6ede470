"""Blob bodies from the registry's storage directory (upstream.storage_dir): the same bytes and
headers as the registry's, counted in the access log, only for a repository the registry says
holds the blob, and everything unusual (ranges, small blobs, missing files, clients that
leave) still right."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.support.client import bearer
from tests.support.images import push_blob
from tests.support.processes import Gateway, Registry
from tests.support.waiting import eventually

MiB = 1024 * 1024


async def _from_storage(session: aiohttp.ClientSession, gateway: Gateway) -> float:
    async with session.get(f"{gateway.url}/metrics") as response:
        text = await response.text()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("gateway_blobs_from_storage_total "))


def _storage_gateway(make_gateway: Callable[..., Gateway], registry: Registry) -> Gateway:
    return make_gateway({"GATEWAY_UPSTREAM_STORAGE_DIR": str(registry.workdir / "store")})


async def test_a_large_blob_comes_from_storage_byte_for_byte(
    make_gateway: Callable[..., Gateway], registry: Registry
) -> None:
    gateway = _storage_gateway(make_gateway, registry)
    data = os.urandom(3 * MiB + 17)
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/stored:pull,push")
        digest = await push_blob(session, gateway.url, "alice/stored", data, auth)
        async with session.get(f"{registry.url}/v2/alice/stored/blobs/{digest}") as direct:
            expected = {h: direct.headers[h] for h in ("Content-Type", "Docker-Content-Digest", "Etag", "Content-Length")}
            await direct.read()
        before = await _from_storage(session, gateway)
        for _ in range(2):
            async with session.get(f"{gateway.url}/v2/alice/stored/blobs/{digest}", headers=auth) as response:
                body = await response.read()
                assert response.status == 200
                assert {h: response.headers[h] for h in expected} == expected
        assert hashlib.sha256(body).hexdigest() == digest.split(":", 1)[1]
        assert await _from_storage(session, gateway) == before + 2
    line = f'"GET /v2/alice/stored/blobs/{digest} HTTP/1.1" 200 '
    sizes = await eventually(  # access lines are written in batches, a fraction of a second later
        lambda: [int(row.split(line, 1)[1].split()[0]) for row in gateway.log_text().splitlines() if line in row],
        lambda found: len(found) >= 2,
    )
    assert len(sizes) == 2 and all(size > len(data) for size in sizes), "the access log counts the bytes sent"


async def test_a_blob_of_another_repository_stays_unknown_though_its_file_is_there(
    make_gateway: Callable[..., Gateway], registry: Registry
) -> None:
    gateway = _storage_gateway(make_gateway, registry)
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/holder:pull,push")
        digest = await push_blob(session, gateway.url, "alice/holder", os.urandom(2 * MiB), auth)
        other = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/elsewhere:pull")
        async with session.get(f"{gateway.url}/v2/alice/elsewhere/blobs/{digest}", headers=other) as response:
            assert response.status == 404
            assert (await response.json())["errors"][0]["code"] == "BLOB_UNKNOWN"
        bob = await bearer(session, gateway.url, gateway.host, "bob", "repository:alice/holder:pull")
        async with session.get(f"{gateway.url}/v2/alice/holder/blobs/{digest}", headers=bob) as response:
            assert response.status == 404, "bob may not pull alice's private repository"
            assert (await response.json())["errors"][0]["code"] == "NAME_UNKNOWN"
        assert await _from_storage(session, gateway) == 0


async def test_ranges_small_blobs_and_missing_files_go_through_the_registry(
    make_gateway: Callable[..., Gateway], registry: Registry, tmp_path: Path
) -> None:
    gateway = _storage_gateway(make_gateway, registry)
    elsewhere = make_gateway({"GATEWAY_UPSTREAM_STORAGE_DIR": str(tmp_path / "not-the-registry")})
    big, small = os.urandom(2 * MiB), os.urandom(4096)
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/proxied:pull,push")
        big_digest = await push_blob(session, gateway.url, "alice/proxied", big, auth)
        small_digest = await push_blob(session, gateway.url, "alice/proxied", small, auth)
        url = f"{gateway.url}/v2/alice/proxied/blobs/{big_digest}"
        async with session.get(url, headers={**auth, "Range": "bytes=100-199"}) as response:
            assert response.status == 206
            assert await response.read() == big[100:200]
        async with session.get(f"{gateway.url}/v2/alice/proxied/blobs/{small_digest}", headers=auth) as response:
            assert await response.read() == small
        assert await _from_storage(session, gateway) == 0
        other = await bearer(session, elsewhere.url, elsewhere.host, "alice", "repository:alice/proxied:pull")
        async with session.get(f"{elsewhere.url}/v2/alice/proxied/blobs/{big_digest}", headers=other) as response:
            assert response.status == 200
            assert await response.read() == big
        assert await _from_storage(session, elsewhere) == 0
    assert "is not a directory" in elsewhere.log_text()


async def test_a_client_that_leaves_mid_blob_costs_nothing_that_lasts(
    make_gateway: Callable[..., Gateway], registry: Registry
) -> None:
    gateway = _storage_gateway(make_gateway, registry)
    assert gateway.process is not None
    data = os.urandom(64 * MiB)
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/left:pull,push")
        digest = await push_blob(session, gateway.url, "alice/left", data, auth)
        url = f"{gateway.url}/v2/alice/left/blobs/{digest}"
        async with session.get(url, headers=auth) as response:  # warm, and the descriptors in use after one
            assert len(await response.read()) == len(data)
        descriptors = len(os.listdir(f"/proc/{gateway.process.pid}/fd"))
        for _ in range(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
            writer.write(f"GET /v2/alice/left/blobs/{digest} HTTP/1.1\r\nHost: {gateway.host}\r\n"
                         f"Authorization: {auth['Authorization']}\r\n\r\n".encode())
            await writer.drain()
            await reader.readexactly(MiB)
            writer.transport.abort()
        async with session.get(url, headers=auth) as response:
            assert hashlib.sha256(await response.read()).hexdigest() == digest.split(":", 1)[1]
        count = await eventually(lambda: len(os.listdir(f"/proc/{gateway.process.pid}/fd")), lambda n: n <= descriptors)
        assert count <= descriptors, "files and sockets of left transfers are closed"
        assert await _from_storage(session, gateway) >= 7
