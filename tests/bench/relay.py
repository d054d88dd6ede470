"""A bare byte relay, the floor of what a Python proxy pays to move an upload: `python -m
tests.bench.relay HOST:PORT SOCKET`.

It accepts TCP connections on HOST:PORT and copies each, both ways and byte for byte, to a new
connection to the Unix socket SOCKET (the registry the gateway uses as its upstream). Nothing is
parsed, checked or framed anew. It moves bytes the way the gateway moves an upload body, so
that the difference between the two is what HTTP costs the gateway:
- uvloop, reads into the gateway's read buffers (gateway/ops/read_buffers.py: 1 MiB each, filled
  read after read, reused once the peer's transport has sent what was read into them) through a
  `BufferedProtocol`, with the gateway's heap settings (gateway/ops/heap.py): no copy in user
  space, no new buffer per read;
- after a read of less than `FULL_READ` bytes, no read for `PAUSE` seconds (both
  gateway/registry/gathered_reads.py's), so a client that sends its chunks and their CRLFs apart
  (skopeo) is read in gathered pieces, as the gateway does;
- no read while the peer's write buffer is full.

`tests/bench/upload_cpu.py --ways skopeo,relay` sets the gateway's CPU per GiB of a skopeo push
beside this relay's for the same pushes: CPU seconds per GiB differ from one machine to the next
by a third or more; the ratio of the two much less.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import cast

from gateway.ops.heap import keep_freed_buffers
from gateway.ops.owned_bodies import HIGH_WATER
from gateway.ops.read_buffers import ReadBuffers
from gateway.registry.gathered_reads import FULL_READ, PAUSE


class Side(asyncio.BufferedProtocol):
    """One end of a relayed connection: what it reads is written to `peer`'s transport."""

    def __init__(self, *, held: bool = False) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: Side | None = None
        self.buffers = ReadBuffers()
        self.early: list[bytes] = []  # read before the peer was connected
        self.held = held  # reading waits for the peer to be connected
        self.resting = False  # the pause after a small read
        self.blocked = False  # the peer's write buffer is full
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.transport.set_write_buffer_limits(high=HIGH_WATER)
        self._reading()
        if not self.ready.done():
            self.ready.set_result(None)

    def _reading(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self.held or self.resting or self.blocked:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffers.room()

    def buffer_updated(self, nbytes: int) -> None:
        buffer, start, end = self.buffers.filled(nbytes)
        peer = self.peer
        if peer is None or peer.transport is None:
            self.early.append(bytes(buffer[start:end]))  # a pause takes effect a read late
            return
        peer.transport.write(memoryview(buffer)[start:end])
        if nbytes < FULL_READ:
            self.resting = True
            self._reading()
            asyncio.get_running_loop().call_later(PAUSE, self._rested)

    def _rested(self) -> None:
        self.resting = False
        self._reading()

    def link(self, peer: Side) -> None:
        """Connected to `peer`: what was read early goes to it, and reading starts."""
        self.peer = peer
        assert peer.transport is not None
        for piece in self.early:
            peer.transport.write(piece)
        self.early.clear()
        self.held = False
        self._reading()

    def eof_received(self) -> bool:
        if self.peer is not None and self.peer.transport is not None and self.peer.transport.can_write_eof():
            self.peer.transport.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None:
            self.peer.blocked = True
            self.peer._reading()

    def resume_writing(self) -> None:
        if self.peer is not None:
            self.peer.blocked = False
            self.peer._reading()


async def _serve(host: str, port: int, upstream: str) -> None:
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()

    async def relayed(client: Side) -> None:
        await client.ready
        assert client.transport is not None
        try:
            _, registry = await loop.create_unix_connection(Side, upstream)
        except OSError:
            client.transport.close()
            return
        registry.link(client)
        client.link(registry)

    def accepted() -> Side:
        side = Side(held=True)
        task = loop.create_task(relayed(side))
        pending.add(task)
        task.add_done_callback(pending.discard)
        return side

    server = await loop.create_server(accepted, host, port)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    print("ready", flush=True)
    await stop
    server.close()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or ":" not in argv[0]:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    host, _, port = argv[0].rpartition(":")
    import uvloop

    keep_freed_buffers()
    uvloop.run(_serve(host, int(port), argv[1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
