"""Deleting one tag from a repository page (a confirmation page, then the form that deletes
through gateway.services.tags and goes back saying what was deleted), and the form of a
namespace page that sets its immutable tags (gateway.services.namespaces)."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from gateway.auth.permissions import Actor
from gateway.registry.deleting import recorder_for, upstream_for
from gateway.services.namespaces import update_namespace
from gateway.services.tags import check_tag_delete, delete_tag
from gateway.ui.auth import field
from gateway.ui.browse_delete import signed_in_identity
from gateway.ui.browse_view import query_text
from gateway.ui.context import services
from gateway.ui.manage.common import done, text
from gateway.ui.notices import notice_query
from gateway.ui.pages import render
from gateway.ui.sessions import UI_PATH


async def confirm_page(request: web.Request) -> web.Response:
    identity = signed_in_identity(request)
    repository, tag = query_text(request, "repository"), query_text(request, "tag", 200)
    await check_tag_delete(services(request), identity, repository, tag)
    context = {"title": "Delete a tag", "nav": "namespaces", "repository": repository, "tag": tag}
    return render(request, "browse_tag_delete.html", context)


async def delete(request: web.Request) -> web.Response:
    identity = signed_in_identity(request)
    form = await request.post()
    repository, tag = field(form, "repository"), field(form, "tag")
    await delete_tag(
        services(request), identity, repository, tag, upstream_for(request, identity.name),
        recorder_for(request, identity.name),
    )
    back = URL(f"{UI_PATH}/repositories/{repository}").with_query(notice_query(request, "deleted_tag", tag))
    raise web.HTTPSeeOther(str(back))


async def change_immutable_tags(request: web.Request) -> web.Response:
    identity = signed_in_identity(request)
    name = request.match_info["namespace"]
    patterns = text(await request.post(), "immutable_tags")
    updated = await update_namespace(services(request), Actor.of(identity), name, immutable_tags=patterns)
    shown = ", ".join(updated.immutable_tags) or "none"
    raise done(request, f"{UI_PATH}/namespaces/{URL.build(path=name).raw_path}", f"Immutable tags of {name}: {shown}.")
