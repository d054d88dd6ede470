"""A namespace's settings page: above all a user's own (personal) namespace, whose visibility
its user (or an admin) changes here; a team namespace is managed on its team's page, so this
page sends its owners there (and shows others what it is). Who may change what is the
namespaces service's rule, as for /api/v1."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from gateway.auth.policy import VISIBILITIES
from gateway.services import namespaces
from gateway.ui.context import services
from gateway.ui.manage.common import done, flash, text
from gateway.ui.manage.teams import team_path
from gateway.ui.pages import render, require_signed_in
from gateway.ui.sessions import UI_PATH


def settings_path(name: str) -> str:
    return f"{UI_PATH}/namespaces/{URL.build(path=name).raw_path}/settings"


async def settings_page(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name = request.match_info["namespace"]
    found = await namespaces.namespace_settings(services(request), who.actor, name)
    if found.namespace.team is not None and found.manages:
        raise web.HTTPFound(team_path(found.namespace.team))  # where its owners' forms are
    context = {
        "title": f"Settings of namespace {name}", "nav": "account" if name == who.user.name else "namespaces",
        "found": found, "own": name == who.user.name, "visibilities": VISIBILITIES, "flash": flash(request),
        "error": None, "settings_path": settings_path(name),
    }
    return render(request, "manage_namespace_settings.html", context)


async def change(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name = request.match_info["namespace"]
    visibility = text(await request.post(), "visibility")
    changed = await namespaces.update_namespace(services(request), who.actor, name, visibility=visibility)
    raise done(request, settings_path(name), f"Namespace {name} is now {changed.visibility}.")
