"""An upload body relayed to the registry one gathered batch per write, its pieces never joined.

aiohttp's own streamed payload writes each piece it is given with `writer.write`, and on
Python before 3.12.9 its chunked framing joins the size line, the piece and the CRLF into a new
buffer: one more copy of every uploaded byte, on top of the socket read's and the parser's. Here
a batch of pieces (gathered_reads.py) goes to the transport in one `writelines` (uvloop: one
writev, no copy), framed as one chunk when the request is chunked.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence

from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

from gateway.ops.owned_bodies import Batch

# asyncio's selector transports corrupt data written with writelines in these versions
# (CPython gh-129343); before 3.12 their writelines joins, which is safe.
_WRITELINES_BROKEN = (3, 12) <= sys.version_info[:3] < (3, 12, 9) or (3, 13) <= sys.version_info[:3] < (3, 13, 2)
_CRLF = b"\r\n"


def framed(batch: Batch, chunked: bool) -> Sequence[bytes | memoryview]:
    """The buffers that send `batch`: as it is, or as one chunk of chunked transfer coding."""
    if not chunked:
        return batch
    size = sum(len(piece) for piece in batch)
    return [b"%x\r\n" % size, *batch, _CRLF]


class RelayedBody(Payload):
    """The request body for aiohttp's client, from batches of pieces; streamed once, never read
    back (no `decode`)."""

    def __init__(self, batches: AsyncIterator[Batch]) -> None:
        super().__init__(batches)
        self._batches = batches
        self._consumed = True  # an iterator: a retry cannot send it again

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("a relayed upload body is streamed, not decoded")

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: AbstractStreamWriter, content_length: int | None) -> None:
        chunked = getattr(writer, "chunked", False)
        remaining = content_length
        async for gathered in self._batches:
            batch: Batch = gathered
            if remaining is not None:  # never more than the declared length, as aiohttp's payloads
                batch, remaining = _clipped(gathered, remaining)
                if not batch:
                    continue
            transport = writer.transport
            if transport is None or _WRITELINES_BROKEN:
                await writer.write(b"".join(batch))
                continue
            if transport.is_closing():
                raise ConnectionResetError("the registry connection closed mid-body")
            writer.send_headers()
            transport.writelines(framed(batch, chunked))
            await writer.drain()


def _clipped(batch: Batch, remaining: int) -> tuple[list[bytes | memoryview], int]:
    kept: list[bytes | memoryview] = []
    for piece in batch:
        if remaining <= 0:
            break
        kept.append(piece if len(piece) <= remaining else piece[:remaining])
        remaining -= len(kept[-1])
    return kept, remaining
