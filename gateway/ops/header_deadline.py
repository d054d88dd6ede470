"""A deadline for request headers, which aiohttp does not have.

aiohttp's only clock on a connection waiting for a request is its keep-alive timer, which counts
from the connection's start or the last response and, by default, runs for an hour: a client
that sends one header line every few seconds (slowloris) holds its connection, its buffers and a
file descriptor that long, and a few thousand such clients hold the worker. Here the headers of
each request must be complete within `server.header_timeout` of the connection's start (for
the first request) or of the first byte of the request (for later ones on a kept-alive
connection), or the connection is closed. The body is not concerned: a slow upload whose
headers came in time is bounded by `server.client_idle_timeout` elsewhere.

It hooks into aiohttp's `RequestHandler` (the connection's protocol, built by
gateway/ops/connections.py): there is no public hook at "the headers of a request are
complete". It reads two of RequestHandler's own attributes, as a subclass:
`_messages` (requests parsed and not yet handled) and `_waiter` (set while the handler waits
for the next request); tests/integration/ops/test_slow_clients.py fails if that ever changes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

log = logging.getLogger(__name__)


class HeaderDeadlineHandler(RequestHandler):
    """aiohttp's connection protocol, closing the connection when headers take too long."""

    def __init__(self, manager: Server, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and data and self._waiting_for_request():
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if self._messages:  # a request's headers are complete (or refused: then it closes anyway)
            self._disarm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_request(self) -> bool:
        return self._waiter is not None and not self._waiter.done()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self._loop.call_later(self._header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if self._messages or self.transport is None:
            return
        peer = self.transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) and peer else "-"
        log.info("closing the connection from %s: request headers not complete within %gs", address, self._header_timeout)
        self.force_close()
