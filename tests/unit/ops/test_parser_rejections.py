"""A request aiohttp's parser refused: one INFO line naming the client and the kind of input,
never its bytes; a real server error keeps its level and traceback."""

from __future__ import annotations

import logging

import pytest
from aiohttp.http_exceptions import BadHttpMessage, BadStatusLine, InvalidHeader, LineTooLong

from gateway.ops.parser_rejections import ParserRejections, install_parser_rejections


def _server_record(error: BaseException) -> logging.LogRecord:
    return logging.LogRecord(
        "aiohttp.server", logging.ERROR, __file__, 1, "Error handling request from %s", ("10.1.2.3",), (type(error), error, None)
    )


def test_a_request_the_parser_refused_becomes_one_info_line_naming_the_client(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.server")
    record = _server_record(BadHttpMessage("Invalid header value char"))
    assert ParserRejections().filter(record)
    assert (record.levelname, record.exc_info) == ("INFO", None)
    assert record.getMessage() == "request refused by the HTTP parser from 10.1.2.3: Invalid header value char"


def test_a_server_error_keeps_its_level_and_traceback() -> None:
    record = _server_record(RuntimeError("a bug"))
    assert ParserRejections().filter(record)
    assert record.levelname == "ERROR" and record.exc_info is not None


def test_a_refused_request_is_not_logged_when_info_is_not(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="aiohttp.server")
    assert not ParserRejections().filter(_server_record(BadHttpMessage("Invalid header value char")))


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (LineTooLong(b"Basic c2VjcmV0LXRva2Vu" + b"A" * 80 + b"...", 65536), "a request line or header over 65536 bytes"),
        (LineTooLong("Header value is too long", 8190), "a request line or header over 8190 bytes"),
        (BadStatusLine("GET /v2/token?password=c2VjcmV0LXRva2Vu HTTP/1.1 junk"), "Bad status line"),
        (BadHttpMessage("Invalid header value char:\n\n  b'Authorization: Basic c2VjcmV0LXRva2Vu\\x00'\n   ^"), "Invalid header value char"),
        (InvalidHeader(b"Authorization: Basic c2VjcmV0LXRva2Vu"), "Invalid HTTP header"),
        (BadHttpMessage("'c2VjcmV0LXRva2Vu'"), "BadHttpMessage"),
    ],
)
def test_a_refused_request_is_logged_by_its_kind_never_with_its_bytes(
    caplog: pytest.LogCaptureFixture, error: BadHttpMessage, reason: str
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.server")
    record = _server_record(error)
    assert ParserRejections().filter(record)
    message = record.getMessage()
    assert message == f"request refused by the HTTP parser from 10.1.2.3: {reason}"
    assert "c2VjcmV0" not in message and "\n" not in message


def test_the_filter_is_installed_once_on_the_servers_log() -> None:
    server = logging.getLogger("aiohttp.server")
    before = list(server.filters)
    try:
        install_parser_rejections()
        install_parser_rejections()
        assert sum(isinstance(f, ParserRejections) for f in server.filters) == 1
    finally:
        server.filters[:] = before
