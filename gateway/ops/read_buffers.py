"""The buffers a connection reads an upload body into, reused once nothing refers to them.

Read as a plain protocol, every read of the socket is copied by the event loop into a new
`bytes` (about a sixth of what an upload costs the gateway). While the gateway decodes a body
itself (owned_bodies.py), the connection reads through a `BufferedProtocol` instead: the kernel
copies into these buffers, and the decoded data goes to the registry as views of them. A buffer
is reused when no view of it is left (the registry's connection has sent it): CPython refuses to
resize a bytearray while a view of it exists, which is how `_unreferenced` asks.
"""

from __future__ import annotations

SIZE = 1024 * 1024
MIN_ROOM = 256 * 1024  # less room than this left in a buffer (uvloop reads 256 KiB): the next read starts another
KEPT = 4  # free buffers kept for the body's next reads


class ReadBuffers:
    """A connection's read buffers: one being filled, those handed out, those free."""

    def __init__(self) -> None:
        self._current = _new()
        self._filled = 0
        self._handed: list[bytearray] = []
        self._free: list[bytearray] = []

    def room(self) -> memoryview:
        """Where the next read goes."""
        if SIZE - self._filled < MIN_ROOM:
            self._next()
        return memoryview(self._current)[self._filled :]

    def filled(self, count: int) -> tuple[bytearray, int, int]:
        """The buffer that `count` bytes were just read into, and where they lie in it."""
        start = self._filled
        self._filled += count
        return self._current, start, self._filled

    def _next(self) -> None:
        self._handed.append(self._current)
        handed: list[bytearray] = []
        for buffer in self._handed:
            (self._free if _unreferenced(buffer) else handed).append(buffer)
        self._handed = handed
        del self._free[KEPT:]
        self._current = self._free.pop() if self._free else _new()
        self._filled = 0


def _new() -> bytearray:
    buffer = bytearray(SIZE + 1)
    del buffer[-1]  # the allocation keeps a byte to spare, so that `_unreferenced` never reallocates
    return buffer


def _unreferenced(buffer: bytearray) -> bool:
    try:
        buffer.append(0)
    except BufferError:
        return False
    del buffer[-1]
    return True
