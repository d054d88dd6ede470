"""aiohttp's parser refusing a request is the client's bad input, not the server failing: one
line at INFO instead of an error with a traceback, installed by the server (`ops/serve.py`)
rather than with the log's format, so that commands that serve nothing do not load aiohttp."""

from __future__ import annotations

import logging
import re

from aiohttp.http_exceptions import HttpProcessingError, LineTooLong

# The words aiohttp's parser errors begin with ("Invalid header value char", "Bad status line"):
# they stop before the first quote, colon or digit, where the client's own bytes begin.
_REASON_WORDS = re.compile(r"[A-Za-z][A-Za-z -]{0,79}")


def rejection_reason(error: HttpProcessingError) -> str:
    """The kind of input the parser refused, never the input itself: aiohttp's messages quote
    the offending line, which may be `Authorization: Basic ...` or a request line whose query
    holds a password."""
    if isinstance(error, LineTooLong):
        limit = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else None
        return f"a request line or header over {limit} bytes" if limit else "a request line or header too long"
    words = _REASON_WORDS.match(error.message or "")
    return (words.group(0).strip() if words else "") or type(error).__name__


class ParserRejections(logging.Filter):
    """aiohttp logs a request its HTTP parser refuses (a NUL in a header, a 20 KiB request line)
    as an error with a traceback, then answers 400 itself. That is the client's bad input, not
    the server failing: it becomes one line at INFO saying who sent what kind of bad input
    (never the bytes themselves, which may hold credentials)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= (error.code or 0) < 500:
            record.msg, record.args = "request refused by the HTTP parser from %s: %s", (
                record.args[0] if isinstance(record.args, tuple) and record.args else "-",
                rejection_reason(error),
            )
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


def install_parser_rejections() -> None:
    """Put the filter on aiohttp's server log, once."""
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ParserRejections) for f in server.filters):
        server.addFilter(ParserRejections())
