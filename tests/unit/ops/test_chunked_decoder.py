"""The gateway's own chunked decoder: the data whatever the pieces, the exact end of the body,
and a refusal for anything that is not chunked coding as RFC 9112 writes it."""

from __future__ import annotations

import os

import pytest

from gateway.ops.chunked_decoder import MAX_LINE, ChunkedDecoder, ChunkedError


def _chunked(*parts: bytes, tail: bytes = b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + tail


def _decode(stream: bytes, piece: int) -> tuple[bytes, int]:
    """The data decoded from `stream` fed in pieces of `piece` bytes, and where in the stream
    the body ended (-1: not ended)."""
    decoder, data = ChunkedDecoder(), []
    for offset in range(0, len(stream), piece):
        pieces, end = decoder.feed(stream[offset : offset + piece])
        data += [bytes(view) for view in pieces]
        if end >= 0:
            return b"".join(data), offset + end
    return b"".join(data), -1


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 4096, 1 << 20])
def test_the_data_and_the_end_are_the_same_whatever_the_pieces(piece: int) -> None:
    parts = [os.urandom(size) for size in (1, 15, 16, 32768, 3, 100_000)]
    body = _chunked(*parts)
    data, end = _decode(body + b"GET / HTTP/1.1\r\n\r\n", piece)
    assert data == b"".join(parts)
    assert end == len(body)


def test_the_data_comes_as_views_of_the_fed_bytes_not_copies() -> None:
    fed = _chunked(b"abc" * 1000)
    pieces, _end = ChunkedDecoder().feed(fed)
    assert [view.obj for view in pieces] == [fed]


def test_extensions_are_ignored_and_trailers_dropped() -> None:
    body = b'3;name=value;other\r\nabc\r\n2;q="a b"\r\nde\r\n0;last\r\nDigest: sha-256=x\r\nX-More:  y \r\n\r\n'
    assert _decode(body, 1) == (b"abcde", len(body))
    assert _decode(body, len(body)) == (b"abcde", len(body))


def test_upper_case_hex_and_leading_zeros_are_sizes() -> None:
    body = b"000A\r\n0123456789\r\n00\r\n\r\n"
    assert _decode(body, 5) == (b"0123456789", len(body))


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nab\r\n0\r\n\r\n",  # not hex
        b" 2\r\nab\r\n0\r\n\r\n",  # space before the size
        b"2 \r\nab\r\n0\r\n\r\n",  # space after it
        b"0x2\r\nab\r\n0\r\n\r\n",
        b"-2\r\nab\r\n0\r\n\r\n",
        b"+2\r\nab\r\n0\r\n\r\n",
        b"\r\nab\r\n0\r\n\r\n",  # no size
        b"2\nab\r\n0\r\n\r\n",  # a bare LF ends the size line
        b"2\r\r\nab\r\n0\r\n\r\n",
        b"1" * 17 + b"\r\n",  # more than 16 hex digits
        b"2\r\nabc\r\n0\r\n\r\n",  # data longer than its size
        b"2\r\nab\n0\r\n\r\n",  # data not followed by CRLF
        b"2;\x00\r\nab\r\n0\r\n\r\n",  # a control character in an extension
        b"0\r\nno colon\r\n\r\n",  # a trailer that is not a field
        b"0\r\nBad Name: x\r\n\r\n",
        b"0\r\n\r\nextra",  # passes: what follows the end is the next request's (see below)
    ],
)
def test_malformed_framing_is_refused_whatever_the_pieces(body: bytes) -> None:
    for piece in (1, len(body)):
        if body.endswith(b"extra"):
            assert _decode(body, piece)[1] == len(body) - len(b"extra")
            continue
        with pytest.raises(ChunkedError):
            _decode(body, piece)


def test_a_line_longer_than_the_limit_is_refused_before_it_ends() -> None:
    decoder = ChunkedDecoder()
    with pytest.raises(ChunkedError):
        for _ in range(MAX_LINE):
            decoder.feed(b"1;" + b"x" * 64)


def test_trailers_longer_than_the_limit_are_refused() -> None:
    decoder = ChunkedDecoder()
    decoder.feed(b"0\r\n")
    with pytest.raises(ChunkedError):
        for _ in range(1000):
            decoder.feed(b"X-Field: " + b"v" * 100 + b"\r\n")


def test_nothing_may_be_fed_after_the_end() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"0\r\n\r\n")[1] == 5
    assert decoder.done
    with pytest.raises(ChunkedError):
        decoder.feed(b"1\r\nx\r\n")


def test_the_size_counts_the_data_decoded() -> None:
    decoder = ChunkedDecoder()
    decoder.feed(b"10\r\n" + b"x" * 10)
    assert decoder.size == 10
    assert not decoder.done


def test_nothing_past_the_end_of_the_fed_range_is_read() -> None:
    """A read buffer holds stale bytes past what the last read filled; they must not end a line."""
    decoder = ChunkedDecoder()
    buffer = bytearray(b"10\r\n" + b"y" * 16)  # the CRLF and after: left over from an earlier read
    assert decoder.feed(buffer, 0, 2) == ([], -1)
    buffer[0:3] = b"0\r\n"  # the next read: the size line was "100"
    assert decoder.feed(buffer, 0, 3) == ([], -1)
    pieces, end = decoder.feed(b"z" * 256 + b"\r\n0\r\n\r\n")
    assert b"".join(pieces) == b"z" * 256
    assert end == 256 + 7
