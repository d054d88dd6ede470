"""The home page: who is signed in, and the namespaces they can reach."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.auth.permissions import Actor, may_see_namespace
from gateway.store import Namespace, Store
from gateway.ui.pages import render, require_signed_in

SHOWN_NAMESPACES = 50


async def visible_namespaces(store: Store, actor: Actor, limit: int = SHOWN_NAMESPACES) -> list[Namespace]:
    """The first namespaces (by name) the actor may see, their personal one among them."""
    shown: list[Namespace] = []
    for namespace in await store.list_namespaces(limit=limit * 4):
        role = await store.get_role(namespace.team, actor.name) if namespace.team is not None else None
        if may_see_namespace(actor, namespace.name, namespace.visibility, role):
            shown.append(namespace)
    if not any(n.name == actor.name for n in shown):
        shown.append(Namespace(actor.name, None, "private", 0))
    return sorted(shown, key=lambda n: n.name)[:limit]


async def home(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    namespaces = await visible_namespaces(request.config_dict[keys.STORE], who.actor)
    return render(request, "home.html", {"title": "Home", "nav": "home", "namespaces": namespaces})
