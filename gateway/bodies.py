"""Bodies the gateway reads whole (manifests, upstream notifications, the registry's tag
lists), up to a limit."""

from __future__ import annotations

from typing import Protocol

from aiohttp import StreamReader


class HasBody(Protocol):
    """A request the gateway serves or a response it receives from the registry."""

    @property
    def content_length(self) -> int | None: ...

    @property
    def content(self) -> StreamReader: ...


async def read_limited(request: HasBody, limit: int) -> bytes | None:
    """The whole body however it arrives (a length, chunks, pieces with pauses between); None as
    soon as it is known to be over `limit` bytes. `StreamReader.read(n)` would return only what
    has arrived so far."""
    if request.content_length is not None and request.content_length > limit:
        return None
    pieces: list[bytes] = []
    size = 0
    while piece := await request.content.readany():
        size += len(piece)
        if size > limit:
            return None
        pieces.append(piece)
    return b"".join(pieces)
