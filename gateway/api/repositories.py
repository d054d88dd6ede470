"""/repositories and /repositories/{name}/tags: what the caller may pull (gateway/services/
repositories.py), paged; DELETE /repositories/{name}/tags/{tag} deletes one tag
(gateway/services/tags.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.caller import authenticate, services
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, time_text
from gateway.registry.deleting import recorder_for, upstream_for
from gateway.services import repositories
from gateway.services.tags import TagDeleted, delete_tag
from gateway.store import RepositoryRow, TagRow


def repository_json(row: RepositoryRow) -> dict[str, Any]:
    return {
        "name": row.name, "created_at": time_text(row.created_at),
        "last_push_at": time_text(row.last_push_at), "last_pull_at": time_text(row.last_pull_at),
    }


def tag_json(row: TagRow) -> dict[str, Any]:
    return {
        "name": row.tag, "digest": row.digest, "media_type": row.media_type, "size": row.size,
        "pushed_at": time_text(row.pushed_at), "image_size": row.image_size, "platforms": list(row.platforms),
        "last_pull_at": time_text(row.last_pull_at),
    }


async def list_repositories(request: web.Request) -> web.Response:
    identity, page = (await authenticate(request)).identity, page_request(request)

    async def fetch(after: str, count: int) -> list[RepositoryRow]:
        return await repositories.list_repositories(services(request), identity, after, count)

    found, next_name = await collect(fetch, lambda r: r.name, page)
    return json_response(page_body([repository_json(r) for r in found], next_name))


async def list_tags(request: web.Request) -> web.Response:
    identity, page = (await authenticate(request)).identity, page_request(request)
    repository = request.match_info["name"]

    async def fetch(after: str, count: int) -> list[TagRow]:
        return await repositories.list_tags(services(request), identity, repository, after, count)

    found, next_name = await collect(fetch, lambda t: t.tag, page)
    return json_response(page_body([tag_json(t) for t in found], next_name))


def tag_deleted_json(done: TagDeleted) -> dict[str, Any]:
    return {"repository": done.repository, "tag": done.tag, "digest": done.digest, "kept": list(done.kept)}


async def delete_one_tag(request: web.Request) -> web.Response:
    identity = (await authenticate(request)).identity
    repository, tag = request.match_info["name"], request.match_info["tag"]
    done = await delete_tag(
        services(request), identity, repository, tag, upstream_for(request, identity.name),
        recorder_for(request, identity.name), useragent="portus-gateway API",
    )
    return json_response(tag_deleted_json(done))
