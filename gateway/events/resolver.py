"""The resolver of webhook deliveries: a name is connected to only at its public addresses.

Apart from `targets.py` (checks made when a webhook is created, and by the settings) so that what
only checks names and URLs, the command line included, does not load aiohttp.
"""

from __future__ import annotations

import errno
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from gateway.events.targets import ALLOW_SETTING, is_public


class PrivateTargetRefused(OSError):
    """A webhook host resolved to non-public addresses only."""


class PublicResolver(AbstractResolver):
    """Resolves as aiohttp does, then keeps only public addresses; none left is an error that
    names the host and the addresses it had (recorded as the delivery's failure)."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [r for r in found if is_public(r["host"])]
        if not public:
            shown = ", ".join(sorted({r["host"] for r in found})[:4])
            raise PrivateTargetRefused(  # an errno, so aiohttp shows the message in its own
                errno.EACCES,
                f"refused: {host} resolves to non-public addresses only ({shown}); set {ALLOW_SETTING} to allow them",
            )
        return public

    async def close(self) -> None:
        await self._inner.close()
