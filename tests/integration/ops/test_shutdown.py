"""Graceful stop: SIGTERM during a large, slow chunk upload lets it finish within the grace period,
refuses new connections at once, and the process exits after; past the grace period it is cut."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
from yarl import URL

from tests.integration.ops.helpers import samples, value
from tests.support.client import bearer
from tests.support.processes import Gateway, Registry

CHUNK = 64 * 1024


async def slow_body(chunks: int, pause: float, sent: list[int]) -> AsyncIterator[bytes]:
    for index in range(chunks):
        block = hashlib.sha256(str(index).encode()).digest() * (CHUNK // 32)
        sent[0] += len(block)
        yield block
        await asyncio.sleep(pause)


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


async def start_upload(session: aiohttp.ClientSession, gateway: Gateway, repository: str) -> tuple[dict[str, str], str]:
    headers = await bearer(session, gateway.url, gateway.host, "alice", f"repository:{repository}:pull,push")
    async with session.post(f"{gateway.url}/v2/{repository}/blobs/uploads/", headers=headers) as started:
        assert started.status == 202, await started.text()
        location = started.headers["Location"]
    return headers, location if location.startswith("http") else f"{gateway.url}{location}"


async def test_sigterm_lets_an_upload_in_flight_finish_then_exits(
    make_gateway: Callable[..., Gateway], registry: Registry
) -> None:
    gateway = make_gateway({"GATEWAY_SERVER_SHUTDOWN_GRACE": "30"})
    assert gateway.process is not None
    repository = "alice/graceful"
    chunks, sent = 160, [0]  # 10 MiB over about 3 s
    async with aiohttp.ClientSession() as session:
        headers, location = await start_upload(session, gateway, repository)
        upload = asyncio.ensure_future(session.patch(
            location, data=slow_body(chunks, 0.02, sent), headers={**headers, "Content-Type": "application/octet-stream"},
        ))
        while sent[0] < 2 * 1024 * 1024:
            await asyncio.sleep(0.05)
        in_flight = value(await asyncio.to_thread(samples, gateway.url), "gateway_uploads_in_flight")
        gateway.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await asyncio.sleep(0.3)
        refused = await asyncio.to_thread(refuses_connections, gateway.port)
        assert not upload.done(), "the upload must still be running when the gateway stops accepting"

        response = await upload
        finished = time.monotonic()
        assert response.status == 202, await response.text()
        assert response.headers["Range"] == f"0-{chunks * CHUNK - 1}"
        next_location = response.headers["Location"]
        response.release()

    assert in_flight == 1
    assert refused, "new connections are refused as soon as the stop begins"
    assert finished - signalled > 1.0
    assert await asyncio.to_thread(gateway.process.wait, 15) == 0
    assert "stopping: no new connections" in gateway.log_text()

    # Every byte reached the registry: it completes the upload (asked directly, the gateway is gone).
    digest = hashlib.sha256(b"".join(hashlib.sha256(str(i).encode()).digest() * (CHUNK // 32) for i in range(chunks))).hexdigest()
    target = URL(next_location)
    query = [(k, v) for k, v in target.query.items() if k != "_gw"] + [("digest", f"sha256:{digest}")]
    async with (
        aiohttp.ClientSession() as session,
        session.put(URL(registry.url).with_path(target.path).with_query(query)) as completed,
    ):
        assert completed.status == 201, await completed.text()


async def test_an_upload_longer_than_the_grace_period_is_cut_and_the_process_exits_on_time(
    make_gateway: Callable[..., Gateway]
) -> None:
    gateway = make_gateway({"GATEWAY_SERVER_SHUTDOWN_GRACE": "1"})
    assert gateway.process is not None
    async with aiohttp.ClientSession() as session:
        headers, location = await start_upload(session, gateway, "alice/cut-short")
        sent = [0]
        upload = asyncio.ensure_future(session.patch(location, data=slow_body(200, 0.03, sent), headers=headers))
        while sent[0] < 1024 * 1024:
            await asyncio.sleep(0.05)
        gateway.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await asyncio.to_thread(gateway.process.wait, 15)
        exited = time.monotonic() - signalled
        try:
            response = await upload
            status: int | None = response.status
            response.release()
        except aiohttp.ClientError:
            status = None
    assert exited < 4.0, f"exited {exited:.1f}s after SIGTERM with a 1 s grace period"
    assert status != 202, "the upload cannot have completed: it needed about 6 s"
    assert sent[0] < 200 * CHUNK
