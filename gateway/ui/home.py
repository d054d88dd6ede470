"""The home page: who is signed in, and the namespaces they can reach."""

from __future__ import annotations

from aiohttp import web

from gateway.auth.permissions import Actor
from gateway.services.context import Services
from gateway.services.namespaces import list_namespaces
from gateway.store import Namespace
from gateway.ui.context import services
from gateway.ui.pages import render, require_signed_in

SHOWN_NAMESPACES = 50


async def reachable_namespaces(services: Services, actor: Actor, limit: int = SHOWN_NAMESPACES) -> list[Namespace]:
    """The first namespaces (by name) the actor may see, their personal one among them (it has
    no row until its settings first change: then it reads as private)."""
    shown, _ = await list_namespaces(services, actor, "", limit)
    if not any(n.name == actor.name for n in shown):
        shown = sorted([*shown, Namespace(actor.name, None, "private", 0)], key=lambda n: n.name)[:limit]
    return shown


async def home(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    namespaces = await reachable_namespaces(services(request), who.actor)
    return render(request, "home.html", {"title": "Home", "nav": "home", "namespaces": namespaces})
