"""What the webhook resolver keeps of a name's addresses."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from gateway.events.resolver import PrivateTargetRefused, PublicResolver


class _Fixed(AbstractResolver):
    def __init__(self, *addresses: str) -> None:
        self._addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [
            {"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0} for a in self._addresses
        ]

    async def close(self) -> None:
        return None


async def test_the_resolver_keeps_public_addresses_and_refuses_a_name_with_none() -> None:
    kept = await PublicResolver(_Fixed("10.0.0.1", "93.184.215.14")).resolve("mixed.example", 443)
    assert [r["host"] for r in kept] == ["93.184.215.14"]
    with pytest.raises(PrivateTargetRefused, match=r"inside\.example resolves to non-public addresses only \(127\.0\.0\.1\)"):
        await PublicResolver(_Fixed("127.0.0.1")).resolve("inside.example", 80)
