"""Small HTTP helpers for talking to the gateway the way registry clients do."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

USERS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw"}


async def fetch_token(
    session: aiohttp.ClientSession, gateway_url: str, service: str, user: str | None, password: str | None, *scopes: str
) -> dict[str, Any]:
    """GET /v2/token as docker does; returns the JSON body (asserting 200)."""
    params: list[tuple[str, str]] = [("service", service)] + [("scope", s) for s in scopes]
    headers = {"Authorization": aiohttp.encode_basic_auth(user, password or "")} if user is not None else {}
    async with session.get(f"{gateway_url}/v2/token", params=params, headers=headers) as response:
        body = await response.json()
        assert response.status == 200, body
        return dict(body)


async def bearer(session: aiohttp.ClientSession, gateway_url: str, service: str, user: str, *scopes: str) -> dict[str, str]:
    """Authorization headers with a token for `user` (a test user from USERS) and `scopes`."""
    body = await fetch_token(session, gateway_url, service, user, USERS[user], *scopes)
    return {"Authorization": f"Bearer {body['token']}"}


async def send_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    """One chunk of a chunked body as Go's HTTP client (skopeo) sends it: the size line and the
    data, then the CRLF flushed on its own."""
    writer.write(b"%x\r\n" % len(data) + data)
    await writer.drain()
    writer.write(b"\r\n")
    await writer.drain()
