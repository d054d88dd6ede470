"""Browsing: namespaces → a namespace's repositories → a repository's tags (with referrers,
who pushed them and the pull commands), and a search over namespace and repository names.

Who browses is an `Identity` for the services: the signed-in user, or, when `[ui]
anonymous_browsing` is on, a visitor who is not signed in (who then sees public namespaces only,
by the same rules as an anonymous `docker pull`).
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.auth.permissions import Actor
from gateway.auth.policy import ANONYMOUS, Identity
from gateway.public import public_host
from gateway.services import retention
from gateway.services.errors import Invalid
from gateway.services.immutable import immutable_pattern, namespace_patterns
from gateway.services.manifests import may_delete
from gateway.services.namespaces import (
    list_namespaces,
    may_change_namespace,
    namespace_settings,
    search_namespaces,
)
from gateway.services.repositories import list_namespace_repositories, search_repositories, tag_page, tag_pushers
from gateway.store import Namespace
from gateway.ui.browse_view import moment, next_link, page_size, query_text, tag_view
from gateway.ui.context import services
from gateway.ui.manage.common import done, flash
from gateway.ui.manage.namespace_settings import settings_path
from gateway.ui.notices import notice
from gateway.ui.pages import render, require_signed_in, signed_in
from gateway.ui.quotas import quota_context
from gateway.ui.retention import PolicyForm, namespace_path, retention_section


def viewer(request: web.Request) -> Identity:
    """Who browses: the signed-in user; else an anonymous visitor where the setting allows it;
    else off to the sign-in page."""
    who = signed_in(request)
    if who is not None:
        return Identity(who.user.name, admin=who.user.admin)
    if request.config_dict[keys.SETTINGS].ui_anonymous_browsing:
        return ANONYMOUS
    require_signed_in(request)
    return ANONYMOUS  # not reached: require_signed_in redirects


def _with_own(shown: list[Namespace], following: str | None, actor: Actor, after: str) -> list[Namespace]:
    """The page with the actor's personal namespace where it sorts (it has no row until its
    settings first change, and then reads as private)."""
    name = actor.name
    if not name or name <= after or (following is not None and name > following) or any(n.name == name for n in shown):
        return shown
    return sorted([*shown, Namespace(name, None, "private", 0)], key=lambda n: n.name)


async def namespaces_page(request: web.Request) -> web.Response:
    identity = viewer(request)
    actor = Actor.of(identity)
    after, limit = query_text(request, "after"), page_size(request)
    shown, following = await list_namespaces(services(request), actor, after, limit)
    context = {
        "title": "Namespaces", "nav": "namespaces", "namespaces": _with_own(shown, following, actor, after),
        "next": next_link(request, "after", following), "query": "",
    }
    return render(request, "browse_namespaces.html", context)


async def namespace_page(
    request: web.Request, *, form: PolicyForm | None = None, error: str | None = None, status: int = 200
) -> web.Response:
    """`form`, `error`, `status`: the retention form sent back with what was wrong."""
    identity = viewer(request)
    name = request.match_info["namespace"]
    after, limit = query_text(request, "after"), page_size(request)
    settings = await namespace_settings(services(request), Actor.of(identity), name)
    repositories, following = await list_namespace_repositories(services(request), identity, name, after, limit)
    context = {
        "title": f"Namespace {name}", "nav": "namespaces", "namespace": settings.namespace,
        "settings": settings_path(name) if settings.manages and settings.namespace.team is None else None,
        "repositories": [(r, moment(r.last_push_at)) for r in repositories],
        "next": next_link(request, "after", following), "flash": flash(request),
        "may_change": not identity.anonymous and await may_change_namespace(services(request), Actor.of(identity), name),
        **await retention_section(request, identity, name, form=form, error=error),
        **await quota_context(request, Actor.of(identity), name),
    }
    return render(request, "browse_namespace.html", context, status=status)


async def repository_page(request: web.Request) -> web.Response:
    identity = viewer(request)
    name = request.match_info["name"]
    after, limit, wanted = query_text(request, "after", 128), page_size(request), query_text(request, "q", 128)
    found = await tag_page(services(request), identity, name, after, limit, wanted)
    pushers = {} if identity.anonymous else await tag_pushers(services(request), identity, name)
    host = public_host(request, request.config_dict[keys.SETTINGS])
    patterns = await namespace_patterns(services(request).store, name)
    tags = [
        tag_view(t, host, pushers.get(t.tag), found.referrers.get(t.digest, []), immutable_pattern(patterns, t.tag))
        for t in found.tags
    ]
    context = {
        "title": f"Repository {name}", "nav": "namespaces", "repository": found.repository,
        "namespace": name.rpartition("/")[0], "tags": tags, "next": next_link(request, "after", found.next),
        "last_push": moment(found.repository.last_push_at), "last_pull": moment(found.repository.last_pull_at),
        "may_delete": not identity.anonymous and await may_delete(services(request), identity, name),
        "show_pushers": not identity.anonymous, "deleted": notice(request, "deleted"),
        "deleted_tag": notice(request, "deleted_tag"), "tag_filter": wanted,
    }
    return render(request, "browse_repository.html", context)


async def search_page(request: web.Request) -> web.Response:
    identity = viewer(request)
    query = query_text(request, "q")
    limit = page_size(request)
    context: dict[str, object] = {"title": "Search", "nav": "search", "query": query, "searched": bool(query)}
    if query:
        namespaces, namespaces_next = await search_namespaces(
            services(request), Actor.of(identity), query, query_text(request, "namespaces_after"), limit,
        )
        repositories, repositories_next = await search_repositories(
            services(request), identity, query, query_text(request, "repositories_after"), limit,
        )
        context.update(
            namespaces=namespaces, repositories=repositories,
            namespaces_next=next_link(request, "namespaces_after", namespaces_next),
            repositories_next=next_link(request, "repositories_after", repositories_next),
        )
    return render(request, "browse_search.html", context)


async def set_retention_policy(request: web.Request) -> web.Response:
    """The retention form of a namespace's page (gateway/ui/retention.py)."""
    who = require_signed_in(request)
    name = request.match_info["namespace"]
    form = PolicyForm.posted(await request.post())
    try:
        row = await retention.set_policy(services(request), who.actor, name, form.spec())
    except Invalid as exc:
        return await namespace_page(request, form=form, error=exc.message, status=400)
    what = f"repositories {row.repository_pattern}" if row.repository_pattern else "the namespace"
    raise done(request, namespace_path(name), f"Retention policy for {what} saved.", plan="1")
