"""Deleting a manifest (and so its tags) from a repository page: a confirmation page (GET), then
the form (POST, with the form token) that deletes through gateway.services.manifests and goes
back to the repository page saying what was deleted."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from gateway.auth.policy import Identity
from gateway.registry.deleting import recorder_for, upstream_for
from gateway.services.manifests import check_delete, delete_manifest
from gateway.ui.auth import field
from gateway.ui.browse_view import query_text, short_digest
from gateway.ui.context import services
from gateway.ui.notices import notice_query
from gateway.ui.pages import render, require_signed_in
from gateway.ui.sessions import UI_PATH


def signed_in_identity(request: web.Request) -> Identity:
    who = require_signed_in(request)
    return Identity(who.user.name, admin=who.user.admin)


async def confirm_page(request: web.Request) -> web.Response:
    identity = signed_in_identity(request)
    repository, digest = query_text(request, "repository"), query_text(request, "digest", 200)
    await check_delete(services(request), identity, repository, digest)
    context = {
        "title": "Delete a manifest", "nav": "namespaces", "repository": repository, "digest": digest,
        "short": short_digest(digest),
    }
    return render(request, "browse_delete.html", context)


async def delete(request: web.Request) -> web.Response:
    identity = signed_in_identity(request)
    form = await request.post()
    repository, digest = field(form, "repository"), field(form, "digest")
    await delete_manifest(
        services(request), identity, repository, digest,
        upstream_for(request, identity.name), recorder_for(request, identity.name),
    )
    back = URL(f"{UI_PATH}/repositories/{repository}").with_query(notice_query(request, "deleted", short_digest(digest)))
    raise web.HTTPSeeOther(str(back))
