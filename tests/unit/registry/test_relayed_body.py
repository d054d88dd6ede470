"""An upload body relayed a batch at a time: framed as one chunk when chunked, each batch in one
writelines of the very pieces it was given (no join), never past a declared length."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.http_writer import StreamWriter

from gateway.registry import relayed_body
from gateway.registry.relayed_body import RelayedBody, framed


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[bytes]] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.calls.append([bytes(data)])

    def writelines(self, list_of_data: object) -> None:
        self.calls.append(list(list_of_data))  # type: ignore[call-overload]

    def is_closing(self) -> bool:
        return False


class _Protocol:
    def __init__(self, transport: _Transport) -> None:
        self.transport = transport
        self._paused = False


async def _batches(*batches: list[bytes]) -> AsyncIterator[list[bytes]]:
    for batch in batches:
        yield batch


async def _relay(chunked: bool, length: int | None, *batches: list[bytes]) -> tuple[list[list[bytes]], bytes]:
    transport = _Transport()
    writer = StreamWriter(_Protocol(transport), asyncio.get_running_loop())  # type: ignore[arg-type]
    if chunked:
        writer.enable_chunking()
    await writer.write_headers("PATCH /x HTTP/1.1", {})  # type: ignore[arg-type]
    await RelayedBody(_batches(*batches)).write_with_length(writer, length)
    await writer.write_eof()
    return transport.calls, b"".join(b"".join(call) for call in transport.calls)


def test_a_chunked_batch_is_one_chunk_of_its_pieces() -> None:
    assert framed([b"ab", b"cde"], True) == [b"5\r\n", b"ab", b"cde", b"\r\n"]
    assert framed([b"ab", b"cde"], False) == [b"ab", b"cde"]


async def test_each_batch_goes_out_in_one_writelines_of_the_same_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relayed_body, "_WRITELINES_BROKEN", False)
    pieces = [bytes([n]) * (32768 + n) for n in range(3)]
    calls, sent = await _relay(True, None, pieces[:2], pieces[2:])
    head, _, body = sent.partition(b"\r\n\r\n")
    assert head.startswith(b"PATCH /x HTTP/1.1")
    expected = b"".join(b"%x\r\n%s\r\n" % (len(b"".join(batch)), b"".join(batch)) for batch in (pieces[:2], pieces[2:]))
    assert body == expected + b"0\r\n\r\n"
    relayed = [call for call in calls if any(piece is pieces[0] for piece in call)]
    assert len(relayed) == 1 and relayed[0][1] is pieces[0] and relayed[0][2] is pieces[1], "pieces sent as given"


async def test_a_declared_length_is_never_exceeded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relayed_body, "_WRITELINES_BROKEN", False)
    _, sent = await _relay(False, 5, [b"abc", b"def"], [b"ghi"])
    assert sent.partition(b"\r\n\r\n")[2] == b"abcde"


async def test_where_writelines_is_unsafe_a_batch_is_joined(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relayed_body, "_WRITELINES_BROKEN", True)
    _, sent = await _relay(True, None, [b"ab", b"cd"])
    assert sent.partition(b"\r\n\r\n")[2] == b"4\r\nabcd\r\n0\r\n\r\n"
