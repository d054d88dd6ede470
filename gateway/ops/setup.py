"""Wires the operations side into the application: probes, metrics, JWKS, request ids."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.ops.health import healthz
from gateway.ops.inflight import InFlight
from gateway.ops.jwks import jwks
from gateway.ops.metrics import CONTENT_TYPE, Metrics
from gateway.ops.middleware import request_context, request_id_header
from gateway.ops.readiness import readyz


async def metrics(request: web.Request) -> web.Response:
    body = request.app[keys.METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})


def setup_ops(app: web.Application) -> None:
    """Call from the app factory before any other middleware is added, so this one is outermost."""
    app[keys.METRICS] = Metrics()
    app[keys.IN_FLIGHT] = InFlight()
    app.middlewares.insert(0, request_context)
    app.on_response_prepare.append(request_id_header)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/.well-known/jwks.json", jwks)
