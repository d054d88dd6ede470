"""The streaming proxy against the real registry: headers, uploads, ranges, mounts, failures."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from tests.support.client import bearer
from tests.support.images import OCI_MANIFEST, push_blob, push_image
from tests.support.processes import Gateway, free_port

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


async def test_every_repeated_accept_header_reaches_the_registry(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/accept:pull,push")
        digest = await push_image(session, gateway.url, "alice/accept", "v1", headers)
        url = f"{gateway.url}/v2/alice/accept/manifests/v1"
        only_docker = [("Authorization", headers["Authorization"]), ("Accept", DOCKER_MANIFEST)]
        async with session.get(url, headers=only_docker) as response:
            assert response.status == 404  # registry 2.8 hides an OCI manifest from a client that does not accept it
        both = [*only_docker, ("Accept", OCI_MANIFEST)]
        async with session.get(url, headers=both) as response:
            assert response.status == 200
            assert "sha256:" + hashlib.sha256(await response.read()).hexdigest() == digest
            assert response.headers["Docker-Content-Digest"] == digest
            assert response.headers["Content-Type"] == OCI_MANIFEST


async def test_upload_location_points_at_the_gateway_and_keeps_state(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/loc:pull,push")
        async with session.post(f"{gateway.url}/v2/alice/loc/blobs/uploads/", headers=headers) as response:
            assert response.status == 202
            location = response.headers["Location"]
        assert location.startswith(f"{gateway.url}/v2/alice/loc/blobs/uploads/")
        assert "_state=" in location and "_gw=" in location
        assert response.headers["Docker-Upload-UUID"] in location


async def test_chunked_upload_with_transfer_encoding_then_blob_get_head_and_range(gateway: Gateway) -> None:
    chunks = [bytes([i]) * 300_000 for i in range(3)]
    data = b"".join(chunks)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()

    async def stream(part: bytes) -> AsyncIterator[bytes]:
        for offset in range(0, len(part), 65536):
            yield part[offset : offset + 65536]

    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/chunked:pull,push")
        async with session.post(f"{gateway.url}/v2/alice/chunked/blobs/uploads/", headers=headers) as response:
            location = response.headers["Location"]
        offset = 0
        for chunk in chunks:
            patch_headers = {**headers, "Content-Type": "application/octet-stream"}
            async with session.patch(location, data=stream(chunk), headers=patch_headers, chunked=True) as response:
                assert response.status == 202, await response.text()
                offset += len(chunk)
                assert response.headers["Range"] == f"0-{offset - 1}"
                location = response.headers["Location"]
        async with session.put(location, params={"digest": digest}, headers=headers) as response:
            assert response.status == 201, await response.text()
        blob_url = f"{gateway.url}/v2/alice/chunked/blobs/{digest}"
        async with session.head(blob_url, headers=headers) as response:
            assert response.status == 200
            assert response.headers["Content-Length"] == str(len(data))
            assert response.headers["Docker-Content-Digest"] == digest
        async with session.get(blob_url, headers=headers) as response:
            assert await response.read() == data
        async with session.get(blob_url, headers={**headers, "Range": "bytes=299990-300009"}) as response:
            assert response.status == 206
            assert await response.read() == data[299990:300010]


async def test_mount_from_a_pullable_repository_mounts(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/mount-src:pull,push")
        digest = await push_blob(session, gateway.url, "alice/mount-src", b"shared layer", headers)
        both = await bearer(
            session, gateway.url, gateway.host, "alice", "repository:alice/mount-dst:pull,push", "repository:alice/mount-src:pull"
        )
        url = f"{gateway.url}/v2/alice/mount-dst/blobs/uploads/?mount={digest}&from=alice/mount-src"
        async with session.post(url, headers=both) as response:
            assert response.status == 201
            assert response.headers["Docker-Content-Digest"] == digest


async def test_mount_from_a_repository_the_caller_may_not_pull_becomes_a_plain_upload(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        alice = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/secret:pull,push")
        digest = await push_blob(session, gateway.url, "alice/secret", b"alice's private layer", alice)
        bob = await bearer(
            session, gateway.url, gateway.host, "bob", "repository:bob/thief:pull,push", "repository:alice/secret:pull"
        )
        url = f"{gateway.url}/v2/bob/thief/blobs/uploads/?mount={digest}&from=alice/secret"
        async with session.post(url, headers=bob) as response:
            assert response.status == 202
            assert "mount" not in response.headers["Location"]
        async with session.head(f"{gateway.url}/v2/bob/thief/blobs/{digest}", headers=bob) as response:
            assert response.status == 404


async def test_upstream_down_gives_503_json_and_gateway_keeps_serving(make_gateway: Callable[..., Gateway]) -> None:
    dead = make_gateway(upstream_url=f"http://127.0.0.1:{free_port()}")
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, dead.url, dead.host, "alice", "repository:alice/app:pull")
        async with session.get(f"{dead.url}/v2/alice/app/tags/list", headers=headers) as response:
            assert response.status == 503
            assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
            assert (await response.json())["errors"][0]["code"] == "UNAVAILABLE"
        async with session.get(f"{dead.url}/healthz") as response:
            assert response.status == 200
    assert "Traceback" not in dead.log_text()


async def test_client_going_away_mid_download_leaves_the_gateway_healthy(gateway: Gateway) -> None:
    data = hashlib.sha256(b"seed").digest() * (8 * 1024 * 1024 // 32)
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/abandon:pull,push")
        digest = await push_blob(session, gateway.url, "alice/abandon", data, headers)
    for _ in range(3):
        async with aiohttp.ClientSession() as session:
            response = await session.get(f"{gateway.url}/v2/alice/abandon/blobs/{digest}", headers=headers)
            await response.content.read(65536)
            response.close()
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.url}/v2/alice/abandon/blobs/{digest}", headers=headers) as response,
    ):
        assert hashlib.sha256(await response.read()).hexdigest() == digest.split(":")[1]
    assert "Traceback" not in gateway.log_text()


@pytest.mark.parametrize("path", ["/v2/Alice/App/tags/list", "/v2/a..b/manifests/latest"])
async def test_invalid_repository_name_gets_name_invalid(gateway: Gateway, path: str) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{gateway.url}{path}") as response:
        assert response.status == 400
        assert (await response.json())["errors"][0]["code"] == "NAME_INVALID"
        assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
