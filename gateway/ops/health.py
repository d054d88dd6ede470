"""Liveness: answers as long as the event loop does; touches no dependency."""

from __future__ import annotations

from aiohttp import web


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
