"""The upstream registry on a Unix socket (upstream.socket): every kind of traffic goes over it,
with `upstream_url` naming a host nothing listens on, so nothing can have gone over TCP; and a
missing socket is reported, not a crash."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.integration.ops.helpers import get_json
from tests.support.client import bearer
from tests.support.images import push_image
from tests.support.processes import Gateway, Registry, free_port
from tests.support.waiting import eventually

MiB = 1024 * 1024


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A short directory: a Unix socket's path must fit in 108 bytes, pytest's tmp_path may not."""
    path = Path(tempfile.mkdtemp(prefix="pg-sock-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def socket_registry(socket_dir: Path, tmp_path: Path) -> Iterator[Registry]:
    registry = Registry(tmp_path / "socket-registry", socket=socket_dir / "registry.sock").start()
    yield registry
    registry.stop()


def _unreachable_url() -> str:
    """An upstream URL nothing answers on: only the socket can carry the traffic."""
    return f"http://127.0.0.1:{free_port()}"


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def test_pushes_and_pulls_go_over_the_unix_socket(
    make_gateway: Callable[..., Gateway], socket_registry: Registry
) -> None:
    assert socket_registry.socket is not None
    gateway = make_gateway({"GATEWAY_UPSTREAM_SOCKET": str(socket_registry.socket)}, upstream_url=_unreachable_url())
    status, body = get_json(f"{gateway.url}/readyz")
    assert status == 200 and body["checks"]["upstream"]["status"] == "up", body
    layer = os.urandom(3 * MiB + 5)  # large enough for the spliced body path
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/over-socket:pull,push")
        manifest_digest = await push_image(session, gateway.url, "alice/over-socket", "v1", auth, seed="socket")

        async with session.post(f"{gateway.url}/v2/alice/over-socket/blobs/uploads/", headers=auth) as started:
            assert started.status == 202, await started.text()
            location = started.headers["Location"]
        assert location.startswith(gateway.url + "/v2/alice/over-socket/blobs/uploads/"), location
        async with session.patch(location, data=_chunks(layer, 64 * 1024), headers=auth) as patched:
            assert patched.status == 202, await patched.text()
            assert patched.headers["Range"] == f"0-{len(layer) - 1}"
            location = patched.headers["Location"]
        async with session.put(location, params={"digest": digest}, headers=auth) as done:
            assert done.status == 201, await done.text()

        async with session.get(f"{gateway.url}/v2/alice/over-socket/blobs/{digest}", headers=auth) as response:
            assert response.status == 200
            assert await response.read() == layer
        async with session.get(
            f"{gateway.url}/v2/alice/over-socket/manifests/v1",
            headers={**auth, "Accept": "application/vnd.oci.image.manifest.v1+json"},
        ) as response:
            assert response.status == 200
            assert response.headers["Docker-Content-Digest"] == manifest_digest
        async with session.get(f"{gateway.url}/v2/alice/over-socket/tags/list", headers=auth) as response:
            assert (await response.json())["tags"] == ["v1"]
    assert (socket_registry.store / "docker/registry/v2/blobs/sha256" / digest[7:9] / digest[7:] / "data").read_bytes() == layer


async def test_a_missing_socket_makes_the_gateway_unready_and_answers_503(
    make_gateway: Callable[..., Gateway], socket_dir: Path
) -> None:
    gateway = make_gateway(
        {"GATEWAY_UPSTREAM_SOCKET": str(socket_dir / "no-registry.sock")}, upstream_url=_unreachable_url()
    )
    status, body = get_json(f"{gateway.url}/readyz")
    assert status == 503 and body["checks"]["upstream"]["status"] == "down", body
    async with aiohttp.ClientSession() as session:
        auth = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/nowhere:pull")
        async with session.get(f"{gateway.url}/v2/alice/nowhere/manifests/v1", headers=auth) as response:
            assert response.status == 503
            assert (await response.json())["errors"][0]["code"] == "UNAVAILABLE"
    said = await eventually(lambda: "no-registry.sock" in gateway.log_text(), bool)  # logs are written in batches
    assert said, "the log says which socket could not be reached"
