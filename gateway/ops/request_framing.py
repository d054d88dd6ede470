"""Where a request's body ends, read from its head: enough to follow the requests of a connection.

The connection protocol (gateway/ops/owned_bodies.py) must know where each request starts to
take the body of an upload away from aiohttp's parser. It follows only what it can follow
without doubt: requests without a body or with one `Content-Length`, and the chunked requests it
decodes itself. Anything else (a chunked body it leaves to aiohttp, `Upgrade`, HTTP/1.0, a head
it cannot read plainly) ends the following, and the rest of the connection is aiohttp's alone.
aiohttp's parser checks every head first (owned_bodies.py compares its message with this).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEAD_END = b"\r\n\r\n"
MAX_HEAD = 64 * 1024

_REQUEST_LINE = re.compile(rb"([A-Z]+) ([\x21-\x7e]+) HTTP/1\.1")
# The value is stripped of spaces and tabs after the match: a lazy `(.*?)[ \t]*` tries its end
# at every character (about 30 us for a head with a bearer token, on every upload request).
_FIELD = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):(.*)")
_DIGITS = re.compile(rb"[0-9]{1,18}")
# Field names that decide framing; a head without them is decided by its first line alone.
_FRAMING_NAMES = (b"content-length", b"transfer-encoding", b"upgrade")


@dataclass(frozen=True, slots=True)
class Framing:
    """What follows a head: `length` bytes of body, or (`chunked`) a chunked body; `None` when
    the head is one to leave to aiohttp for the rest of the connection."""

    method: str
    target: str
    length: int = 0
    chunked: bool = False


def framing_of(head: bytes) -> Framing | None:
    """The framing of the body after `head` (the request line to the blank line, included), or
    None when it is not plainly one of no body, one Content-Length, or `chunked` alone."""
    request_line, _, fields = head[: -len(HEAD_END)].partition(b"\r\n")
    first = _REQUEST_LINE.fullmatch(request_line)
    if first is None:
        return None
    method, target = first[1].decode("ascii"), first[2].decode("ascii")
    lowered = head.lower()
    if not any(name in lowered for name in _FRAMING_NAMES):
        return Framing(method, target)
    length: int | None = None
    chunked = False
    for line in fields.split(b"\r\n") if fields else ():  # split only here: most heads stop above
        field = _FIELD.fullmatch(line)
        if field is None:
            return None  # obs-fold, a bare CR or LF, a name that is not a token
        name, value = field[1].lower(), field[2].strip(b" \t")
        if name == b"upgrade":
            return None
        if name == b"content-length":
            if length is not None or _DIGITS.fullmatch(value) is None:
                return None
            length = int(value)
        elif name == b"transfer-encoding":
            if chunked or value.lower() != b"chunked":
                return None
            chunked = True
    if chunked and length is not None:
        return None
    return Framing(method, target, length or 0, chunked)
