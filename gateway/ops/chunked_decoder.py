"""A strict, incremental decoder of HTTP/1.1 chunked transfer coding (RFC 9112, section 7.1).

An upload body that the gateway reads itself (gateway/ops/owned_bodies.py) is decoded here
instead of by aiohttp's parser, which copies every chunk into a new `bytes` and calls back into
Python three times per chunk. The decoder hands out views of the socket's reads, with no copy.

It is the only judge of where such a body ends: aiohttp's parser sees the request's head and,
once the body is over, an empty last chunk; the registry receives the data framed anew. So what
it accepts decides where the next request on the connection starts, and it accepts only what the
RFC allows, with limits: a chunk size of at most 16 hex digits, chunk extensions of visible
characters (ignored), trailer fields of a token name (dropped), and lines of bounded length.
"""

from __future__ import annotations

import re

MAX_LINE = 4096  # a chunk-size line with its extensions, or one trailer field
MAX_TRAILERS = 16 * 1024

_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:;[\t\x20-\x7e\x80-\xff]*)?\r\n")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_TRAILER_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*\r\n")

_SIZE, _DATA, _AFTER_DATA, _TRAILER, _DONE = range(5)


class ChunkedError(ValueError):
    """The body is not valid chunked transfer coding; the connection cannot be read further."""


class ChunkedDecoder:
    """Decodes one chunked body fed in arbitrary pieces.

    `feed` returns the data found in a piece as views of it and, once the last chunk and the
    trailer section are complete, the offset where the body ended (what follows belongs to the
    next request); -1 while the body goes on."""

    __slots__ = ("_left", "_line", "_state", "_trailers", "size")

    def __init__(self) -> None:
        self._state = _SIZE
        self._left = 0
        self._line = b""
        self._trailers = 0
        self.size = 0  # data bytes decoded so far

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes | bytearray, start: int = 0, end: int | None = None) -> tuple[list[memoryview], int]:
        """Decodes `data[start:end]`: the data in it, as views of `data`, and where in `data` the
        body ended (-1 while it goes on)."""
        if self._state == _DONE:
            raise ChunkedError("data after the end of the body")
        view = memoryview(data)
        pieces: list[memoryview] = []
        pos = start
        end = len(data) if end is None else end
        while pos < end:
            if self._state == _DATA:
                take = min(self._left, end - pos)
                pieces.append(view[pos : pos + take])
                pos += take
                self._left -= take
                self.size += take
                if not self._left:
                    self._state = _AFTER_DATA
                continue
            if not self._line and end - pos >= 2:  # the usual lines, whole in this piece, in fewer steps
                if self._state == _AFTER_DATA and data[pos] == 13 and data[pos + 1] == 10:
                    pos += 2
                    self._state = _SIZE
                    continue
                if self._state == _SIZE:
                    stop = data.find(b"\r\n", pos, min(end, pos + 18))
                    if stop > pos and _HEX.fullmatch(data, pos, stop):
                        self._begin_chunk(int(data[pos:stop], 16))
                        pos = stop + 2
                        continue
            line, pos = self._line_from(data, pos, end)
            if line is None:
                break
            if self._line_ends_body(line):
                return pieces, pos
        return pieces, -1

    def _line_from(self, data: bytes | bytearray, pos: int, end: int) -> tuple[bytes | None, int]:
        """The line that ends in `data` at or after `pos` (with what came before it), or None
        when `data` ends first (kept for the next piece)."""
        stop = data.find(b"\n", pos, min(end, pos + MAX_LINE + 1))
        if stop < 0:
            self._line += data[pos:end]
            if len(self._line) > MAX_LINE:
                raise ChunkedError("a line of the chunked framing is too long")
            return None, end
        line = self._line + data[pos : stop + 1] if self._line else bytes(data[pos : stop + 1])
        self._line = b""
        if len(line) > MAX_LINE:
            raise ChunkedError("a line of the chunked framing is too long")
        return line, stop + 1

    def _begin_chunk(self, size: int) -> None:
        self._left = size
        self._state = _DATA if size else _TRAILER

    def _line_ends_body(self, line: bytes) -> bool:
        state = self._state
        if state == _AFTER_DATA:
            if line != b"\r\n":
                raise ChunkedError("a chunk's data is not followed by CRLF")
            self._state = _SIZE
            return False
        if state == _SIZE:
            match = _SIZE_LINE.fullmatch(line)
            if match is None:
                raise ChunkedError("a chunk-size line is malformed")
            self._begin_chunk(int(match[1], 16))
            return False
        if line == b"\r\n":
            self._state = _DONE
            return True
        self._trailers += len(line)
        if self._trailers > MAX_TRAILERS or _TRAILER_LINE.fullmatch(line) is None:
            raise ChunkedError("a trailer field is malformed or the trailers are too long")
        return False
