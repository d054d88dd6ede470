"""Writes refused while a garbage collection's window is open, on every instance.

The window is a row of the shared store (gateway/services/gc.py), looked at on each write
request: read again whenever the store's data version moved (gateway/registry/gate_reads.py),
so no instance misses a window another one opened for longer than `Store.version_lag`, which
the collector waits out. Pulls never look.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.registry.errors import error_response
from gateway.registry.routes import Route
from gateway.store.maintenance import DRAINING
from gateway.store.sql import now

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRY_AFTER = 30  # seconds; a collection of a small registry takes a few


def _finishing_a_push(request: web.Request, route: Route) -> bool:
    """While the window drains, a push under way may finish: chunks of an open upload and the
    manifest PUT; new uploads (mounts included) and deletes wait."""
    if route.kind == "upload":
        return bool(route.reference) and request.method in ("PATCH", "PUT")
    return route.kind == "manifest" and request.method == "PUT"


async def maintenance_refusal(request: web.Request, route: Route) -> web.Response | None:
    """503 UNAVAILABLE with Retry-After for a write during the window; None to go on."""
    if request.method not in WRITE_METHODS or route.kind not in ("manifest", "blob", "upload"):
        return None
    run = await request.app[keys.GATE_READS].gc_run()
    if run is None or not run.refuses_writes(now()):
        return None
    if run.phase == DRAINING and _finishing_a_push(request, route):
        return None
    return error_response(
        "UNAVAILABLE", "the registry is read-only during garbage collection; retry later",
        {"retry_after": RETRY_AFTER}, status=503, headers={"Retry-After": str(RETRY_AFTER)},
    )
