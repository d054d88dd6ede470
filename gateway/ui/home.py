"""The home page: the namespaces the visitor can reach, the newest tag pushes they may see, and a
search box. A visitor who is not signed in gets it only where `[ui] anonymous_browsing` is on,
and then sees public namespaces and their pushes only (no pusher names, as on the tags page);
otherwise the sign-in page."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.auth.permissions import Actor
from gateway.services.context import Services
from gateway.services.events import recent_pushes
from gateway.services.namespaces import list_namespaces
from gateway.store import Namespace, TagPush
from gateway.ui.browse import viewer
from gateway.ui.browse_view import DEFAULT_PAGE, Moment, moment
from gateway.ui.context import services
from gateway.ui.pages import render

SHOWN_NAMESPACES = DEFAULT_PAGE  # as many as the namespaces page's first page
SHOWN_PUSHES = 10


@dataclass(frozen=True)
class Push:
    repository: str
    tag: str
    pushed: Moment | None
    pusher: str


async def reachable_namespaces(services: Services, actor: Actor, limit: int = SHOWN_NAMESPACES) -> list[Namespace]:
    """The first namespaces (by name) the actor may see, a signed-in user's personal one among
    them (it has no row until its settings first change: then it reads as private)."""
    shown, _ = await list_namespaces(services, actor, "", limit)
    if actor.name and not any(n.name == actor.name for n in shown):
        shown = sorted([*shown, Namespace(actor.name, None, "private", 0)], key=lambda n: n.name)[:limit]
    return shown


def _push(push: TagPush) -> Push:
    return Push(push.repository, push.tag, moment(push.created_at_ms // 1000), push.actor)


async def home(request: web.Request) -> web.Response:
    identity = viewer(request)
    actor = Actor.of(identity)
    found = services(request)
    pushes = [_push(e) for e in await recent_pushes(found, identity, SHOWN_PUSHES)]
    context = {
        "title": "Home", "nav": "home", "namespaces": await reachable_namespaces(found, actor), "pushes": pushes,
        "show_pushers": not identity.anonymous, "query": "",
    }
    return render(request, "home.html", context)
