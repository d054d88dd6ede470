"""The bench's bare relay passes every byte both ways, however the client writes them."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from pathlib import Path

from tests.bench.relay import Side
from tests.support.processes import REPO_ROOT, free_port


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def test_the_relay_passes_small_and_large_writes_both_ways_byte_for_byte(tmp_path: Path) -> None:
    socket_path = tmp_path / "echo.sock"
    server = await asyncio.start_unix_server(_echo, str(socket_path))
    port = free_port()
    relay = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bench.relay", f"127.0.0.1:{port}", str(socket_path),
        stdout=asyncio.subprocess.PIPE, cwd=REPO_ROOT,
    )
    try:
        assert relay.stdout is not None
        assert await asyncio.wait_for(relay.stdout.readline(), 30) == b"ready\n"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # Two bytes, then a chunk and its CRLF apart (as skopeo sends), then megabytes at once.
        pieces = [b"ab", os.urandom(32 * 1024), b"\r\n", os.urandom(3 * 1024 * 1024 + 7)]
        sent = hashlib.sha256()
        for piece in pieces:
            writer.write(piece)
            sent.update(piece)
            await writer.drain()
        writer.write_eof()
        received = hashlib.sha256()
        total = 0
        while data := await asyncio.wait_for(reader.read(1 << 20), 30):
            received.update(data)
            total += len(data)
        writer.close()
        assert total == sum(map(len, pieces))
        assert received.hexdigest() == sent.hexdigest()
    finally:
        if relay.returncode is None:
            relay.terminate()
        await relay.wait()
        server.close()
        await server.wait_closed()


class _Transport:
    """What a Side asks of its transport, recorded."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.reading = True

    def set_write_buffer_limits(self, high: int) -> None:
        pass

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes | memoryview) -> None:
        self.written.append(bytes(data))


def _read(side: Side, data: bytes) -> None:
    room = side.get_buffer(-1)
    room[: len(data)] = data
    side.buffer_updated(len(data))


async def test_what_a_client_sent_before_its_registry_side_connected_goes_first() -> None:
    client, registry = Side(held=True), Side()
    client_transport, registry_transport = _Transport(), _Transport()
    client.connection_made(client_transport)  # type: ignore[arg-type]
    assert not client_transport.reading, "a client is not read before its registry side is connected"
    _read(client, b"GET /v2/ HTTP/1.1\r\n")  # a pause takes effect a read late
    registry.connection_made(registry_transport)  # type: ignore[arg-type]
    registry.link(client)
    client.link(registry)
    _read(client, b"\r\n")
    assert registry_transport.written == [b"GET /v2/ HTTP/1.1\r\n", b"\r\n"]
    assert client_transport.reading is False, "a read of two bytes rests for the pause"
