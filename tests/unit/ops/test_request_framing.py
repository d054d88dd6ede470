"""Following a connection's requests: a head's framing read only when it is plain."""

from __future__ import annotations

import pytest

from gateway.ops.request_framing import Framing, framing_of


def _head(first: str, *fields: str) -> bytes:
    return ("\r\n".join([first, *fields]) + "\r\n\r\n").encode()


def test_a_head_without_a_body() -> None:
    assert framing_of(_head("GET /v2/ HTTP/1.1", "Host: x", "Authorization: Bearer t")) == Framing("GET", "/v2/")


def test_a_content_length_body() -> None:
    head = _head("PUT /v2/a/manifests/t HTTP/1.1", "Host: x", "content-length:  512 ")
    assert framing_of(head) == Framing("PUT", "/v2/a/manifests/t", length=512)


def test_a_chunked_body() -> None:
    head = _head("PATCH /v2/a/blobs/uploads/u?_state=s HTTP/1.1", "Host: x", "Transfer-Encoding: Chunked")
    assert framing_of(head) == Framing("PATCH", "/v2/a/blobs/uploads/u?_state=s", chunked=True)


_PADDINGS = ["", " ", "\t", "  ", " \t ", "\t\t", "\t \t  "]


@pytest.mark.parametrize("before", _PADDINGS)
@pytest.mark.parametrize("after", _PADDINGS)
def test_spaces_and_tabs_around_a_value_are_not_part_of_it(before: str, after: str) -> None:
    auth = "Authorization: Bearer " + "e" * 900  # a long value among the fields, as every client sends
    head = _head("PUT /u HTTP/1.1", "Host: x", auth, f"Content-Length:{before}{10**18 - 1}{after}")
    assert framing_of(head) == Framing("PUT", "/u", length=10**18 - 1)
    head = _head("PATCH /u HTTP/1.1", auth, f"Transfer-Encoding:{before}ChUnKeD{after}", "Host: x")
    assert framing_of(head) == Framing("PATCH", "/u", chunked=True)


@pytest.mark.parametrize(
    "head",
    [
        _head("PATCH /u HTTP/1.1", "Host: x", "Transfer-Encoding: chunked", "Content-Length: 5"),
        _head("PATCH /u HTTP/1.1", "Host: x", "Transfer-Encoding: gzip, chunked"),
        _head("PATCH /u HTTP/1.1", "Host: x", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
        _head("PUT /u HTTP/1.1", "Host: x", "Content-Length: 5", "Content-Length: 5"),
        _head("PUT /u HTTP/1.1", "Host: x", "Content-Length: +5"),
        _head("PUT /u HTTP/1.1", "Host: x", "Content-Length: 5, 5"),
        _head("PUT /u HTTP/1.1", "Host: x", "Content-Length: " + "9" * 19),
        _head("PATCH /u HTTP/1.1", "Host: x", "Transfer-Encoding : chunked"),  # not a token before the colon
        _head("PATCH /u HTTP/1.1", "Host: x", "X-A: 1", " Transfer-Encoding: chunked"),  # obs-fold
        _head("GET /u HTTP/1.1", "Host: x", "Connection: Upgrade", "Upgrade: websocket"),
        _head("PATCH /u HTTP/1.0", "Host: x", "Content-Length: 1"),
        _head("patch /u HTTP/1.1", "Host: x", "Content-Length: 1"),
        _head("GET /ü HTTP/1.1", "Host: x"),
        _head("GET  /u HTTP/1.1", "Host: x"),
        b"\r\nGET /u HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PUT /u HTTP/1.1\r\nHost: x\nContent-Length: 5\r\n\r\n",  # a bare LF hides a field
        _head("PUT /u HTTP/1.1", "Host: x", "Content-Length: 5 5"),
        _head("PATCH /u HTTP/1.1", "Host: x", "Transfer-Encoding: chunked x"),
    ],
)
def test_a_head_that_is_not_plain_is_left_to_aiohttp(head: bytes) -> None:
    assert framing_of(head) is None
