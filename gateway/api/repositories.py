"""/repositories and /repositories/{name}/tags: what the caller may pull, paged.

Answered from the gateway's repository index (kept from the events of what passed through
it), filtered by the same policy as the token endpoint (a pull scope per repository), so the
API never shows a repository whose pull a token request would refuse.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import keys, names
from gateway.api.caller import authenticate
from gateway.api.errors import forbidden, not_found
from gateway.api.names import checked
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, time_text
from gateway.auth.namespaces import PullFilter
from gateway.store import RepositoryRow, TagRow


def repository_json(row: RepositoryRow) -> dict[str, Any]:
    return {
        "name": row.name, "created_at": time_text(row.created_at),
        "last_push_at": time_text(row.last_push_at), "last_pull_at": time_text(row.last_pull_at),
    }


def tag_json(row: TagRow) -> dict[str, Any]:
    return {"name": row.tag, "digest": row.digest, "media_type": row.media_type, "size": row.size, "pushed_at": time_text(row.pushed_at)}


async def list_repositories(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    page = page_request(request)
    store = request.config_dict[keys.STORE]
    check = PullFilter(store, caller.identity, request.config_dict[keys.POLICY_RULES])

    async def allowed(row: RepositoryRow) -> bool:
        return await check.allows(row.name)

    found, next_name = await collect(store.list_repositories, lambda r: r.name, page, allowed)
    return json_response(page_body([repository_json(r) for r in found], next_name))


async def list_tags(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    repository = checked(names.REPOSITORY, request.match_info["name"])
    page = page_request(request)
    store = request.config_dict[keys.STORE]
    if not await PullFilter(store, caller.identity, request.config_dict[keys.POLICY_RULES]).allows(repository):
        raise forbidden(f"you may not pull {repository!r}")

    async def fetch(after: str, count: int) -> list[TagRow]:
        return await store.list_tags(repository, after, count)

    found, next_name = await collect(fetch, lambda t: t.tag, page)
    if not found and not page.after and not await store.list_tags(repository, "", 1):
        raise not_found(f"no such repository {repository!r} (or it has no tags)")
    return json_response(page_body([tag_json(t) for t in found], next_name))
