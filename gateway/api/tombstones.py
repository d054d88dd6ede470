"""/tombstones: namespaces kept reserved because they were deleted (with their user, or on
their own) while repositories were in them. Admins list them, release a name (it becomes free,
and whoever takes it next gets the repositories), or purge it (the repositories are deleted in
the registry, then the name is free).

Deleting a user or a namespace answers 200 with the reservation instead of 204 when one was made.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.caller import authenticate, services
from gateway.api.names import namespace_param
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, no_content, time_text
from gateway.registry.deleting import recorder_for, upstream_for
from gateway.services import tombstones
from gateway.services.tombstones import API_PATH
from gateway.store import Deletion, Tombstone


def tombstone_json(tombstone: Tombstone) -> dict[str, Any]:
    name = tombstone.name
    return {
        "namespace": name, "repositories": tombstone.repositories,
        "former_owner": {"kind": tombstone.former_kind, "name": tombstone.former_owner},
        "deleted_by": tombstone.deleted_by, "deleted_at": time_text(tombstone.deleted_at),
        "release": f"POST {API_PATH}/{name}/release (the name becomes free; whoever takes it next gets the repositories)",
        "purge": f"POST {API_PATH}/{name}/purge (the repositories are deleted in the registry, then the name is free)",
    }


def deletion_response(what: str, deletion: Deletion) -> web.Response:
    """204 as before; 200 saying so when the name stays reserved."""
    reserved = deletion.reserved
    if reserved is None:
        return no_content()
    message = (
        f"{what} deleted; namespace {reserved.name!r} still holds {reserved.repositories} repositories and stays"
        " reserved until an admin releases or purges it"
    )
    return json_response({"message": message, "reserved": tombstone_json(reserved)})


async def list_tombstones(request: web.Request) -> web.Response:
    actor, page = (await authenticate(request)).actor, page_request(request)

    async def fetch(after: str, limit: int) -> list[Tombstone]:
        return await tombstones.list_tombstones(services(request), actor, after, limit)

    found, next_name = await collect(fetch, lambda t: t.name, page)
    return json_response(page_body([tombstone_json(t) for t in found], next_name))


async def get_tombstone(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    return json_response(tombstone_json(await tombstones.get_tombstone(services(request), actor, namespace_param(request))))


async def release_tombstone(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    name = namespace_param(request)
    released = await tombstones.release_tombstone(services(request), actor, name)
    left = released.repositories_left
    message = (
        f"namespace {name!r} released: its {left} repositories remain in the registry, and whoever takes"
        f" the name {name!r} next (a new user, or a team namespace) gets them"
    )
    return json_response({"message": message, "released": {**tombstone_json(released.tombstone), "repositories": left}})


async def purge_tombstone(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    name = namespace_param(request)
    purged = await tombstones.purge_tombstone(
        services(request), actor, name, upstream_for(request, actor.name), recorder_for(request, actor.name)
    )
    message = (
        f"namespace {name!r} purged: {purged.manifests} manifests of {purged.repositories} repositories deleted"
        " in the registry (their layers go at its next garbage collection); the name is free"
    )
    return json_response({"message": message, "purged": {"namespace": name, **vars(purged)}})
