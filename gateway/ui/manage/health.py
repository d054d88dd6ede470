"""Admins' health summary: the readiness checks (store, upstream, signing key) as the probe
runs them, and the gateway's version."""

from __future__ import annotations

from aiohttp import web

from gateway import __version__
from gateway.ops.readiness import check_components
from gateway.services.guards import require_admin
from gateway.ui.pages import render, require_signed_in


async def health_page(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    require_admin(who.actor, "see the gateway's health")
    root = request.match_info.apps[0]  # the gateway's application, whose objects the checks use
    components = await check_components(root)
    context = {"title": "Health", "nav": "health", "components": components, "version": __version__}
    return render(request, "manage_health.html", context)
