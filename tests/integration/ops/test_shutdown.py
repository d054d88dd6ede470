"""Graceful stop: SIGTERM during a large, slow chunk upload lets it finish within the grace period,
refuses new connections at once, and the process exits after; past the grace period it is cut."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
from yarl import URL

from tests.integration.ops.helpers import samples, value
from tests.support.client import bearer
from tests.support.processes import Gateway, Registry
from tests.support.waiting import eventually

CHUNK = 64 * 1024
# How long a stop may take past its grace period (closing, flushing logs, exiting) before the test
# calls it stuck: generous, since a loaded machine is slow, and far below what "never" would take.
EXIT_MARGIN = 20.0
# Deadline for what should take a moment (the first megabytes of an upload, the listener closing):
# only there so that a broken gateway fails the test instead of hanging it.
SOON = 30.0


async def held_body(chunks: int, hold_after: int, release: asyncio.Event, sent: list[int]) -> AsyncIterator[bytes]:
    """`chunks` blocks of CHUNK bytes; after `hold_after` of them the body waits for `release`, so
    the upload is in flight for exactly as long as the test wants, however fast the machine."""
    for index in range(chunks):
        if index == hold_after:
            await release.wait()
        block = hashlib.sha256(str(index).encode()).digest() * (CHUNK // 32)
        sent[0] += len(block)
        yield block


async def until_sent(sent: list[int], size: int) -> None:
    deadline = time.monotonic() + SOON
    while sent[0] < size:
        assert time.monotonic() < deadline, f"only {sent[0]} bytes of the upload sent after {SOON:.0f} s"
        await asyncio.sleep(0.05)


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
    chunks, held, sent, release = 160, 32, [0], asyncio.Event()  # 10 MiB, held after 2 MiB
    async with aiohttp.ClientSession() as session:
        headers, location = await start_upload(session, gateway, repository)
        upload = asyncio.ensure_future(session.patch(
            location, data=held_body(chunks, held, release, sent), headers={**headers, "Content-Type": "application/octet-stream"},
        ))
        await until_sent(sent, held * CHUNK)
        in_flight = value(await asyncio.to_thread(samples, gateway.url), "gateway_uploads_in_flight")
        gateway.process.send_signal(signal.SIGTERM)
        refused = await eventually(lambda: refuses_connections(gateway.port), bool, timeout=SOON)
        assert not upload.done(), "the upload is still running when the gateway stops accepting"
        assert gateway.process.poll() is None, "the process waits for the upload in flight"
        release.set()
        response = await asyncio.wait_for(upload, SOON)
        assert response.status == 202, await response.text()
        assert response.headers["Range"] == f"0-{chunks * CHUNK - 1}"
        next_location = response.headers["Location"]
        response.release()

    assert in_flight == 1
    assert refused, "new connections are refused as soon as the stop begins"
    assert await asyncio.to_thread(gateway.process.wait, SOON) == 0
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
    grace = 1.0
    gateway = make_gateway({"GATEWAY_SERVER_SHUTDOWN_GRACE": str(grace)})
    assert gateway.process is not None
    release = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        headers, location = await start_upload(session, gateway, "alice/cut-short")
        sent = [0]
        upload = asyncio.ensure_future(session.patch(location, data=held_body(200, 16, release, sent), headers=headers))
        await until_sent(sent, 16 * CHUNK)
        gateway.process.send_signal(signal.SIGTERM)
        try:  # the upload is held for as long as the test wants: only the grace period can end it
            exit_code = await asyncio.to_thread(wait_or_none, gateway.process, grace + EXIT_MARGIN)
        finally:
            release.set()
        assert exit_code is not None, f"still running {grace + EXIT_MARGIN:.0f} s after SIGTERM with a {grace:.0f} s grace period"
        response = await asyncio.wait_for(upload, SOON)
        answer = (response.status, (await response.json())["errors"][0]["code"])
        response.release()
    assert "stopping: cutting 1 requests still in flight" in gateway.log_text()
    assert answer == (400, "BLOB_UPLOAD_INVALID"), "the upload was cut short, not completed"


def wait_or_none(process: subprocess.Popen[bytes], seconds: float) -> int | None:
    try:
        return process.wait(seconds)
    except subprocess.TimeoutExpired:
        return None
