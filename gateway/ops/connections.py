"""The protocol of the gateway's client connections: aiohttp's, with a deadline for request
headers (header_deadline.py) and upload bodies read by the gateway (owned_bodies.py).

A runner makes a `Server` whose protocol factory builds it: aiohttp has no public hook for either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from gateway.ops.header_deadline import HeaderDeadlineHandler
from gateway.ops.owned_bodies import OwnedBodyHandler

Owns = Callable[[str, str], bool]


class GatewayConnection(OwnedBodyHandler, HeaderDeadlineHandler):
    """A client connection: upload bodies read by the gateway, headers on a deadline."""


class GatewayServer(Server):
    """aiohttp's Server, building `GatewayConnection`s; made from the one aiohttp built."""

    def __init__(self, built: Server, header_timeout: float, owns: Owns) -> None:
        # Takes over the state of the server aiohttp built (not Server.__init__: that one's
        # arguments are aiohttp's to choose, see web.Application._make_handler).
        self.__dict__.update(built.__dict__)
        self.header_timeout = header_timeout
        self.owns = owns

    def __call__(self) -> RequestHandler:
        return GatewayConnection(
            self, loop=self._loop, header_timeout=self.header_timeout, owns=self.owns, **self._kwargs
        )


class GatewayRunner(web.AppRunner):
    """`web.AppRunner` whose connections are `GatewayConnection`s."""

    def __init__(self, app: web.Application, *, header_timeout: float, owns: Owns, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._header_timeout = header_timeout
        self._owns = owns

    async def _make_server(self) -> Server:
        return GatewayServer(await super()._make_server(), self._header_timeout, self._owns)
