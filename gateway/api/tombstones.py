"""/tombstones: namespaces kept reserved because they were deleted (with their user, or on
their own) while repositories were in them. Admins list them, release a name (it becomes free,
and whoever takes it next gets the repositories), or purge it (the repositories are deleted in
the registry, then the name is free).

Deleting a user or a namespace answers 200 with the reservation instead of 204 when one was made.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import keys
from gateway.api.caller import authenticate, require_admin
from gateway.api.errors import UNAVAILABLE, ApiError, conflict, not_found
from gateway.api.names import namespace_param
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, no_content, time_text
from gateway.auth.scopes import Scope
from gateway.public import service_name
from gateway.registry.purge import Actor, PurgeError, Upstream, purge_namespace
from gateway.store import Deletion, Tombstone

API_PATH = "/api/v1/tombstones"


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


def reserved_conflict(tombstone: Tombstone, wanted: str) -> ApiError:
    return conflict(
        f"the name {tombstone.name!r} is reserved: namespace {tombstone.name!r} was deleted with"
        f" {tombstone.repositories} repositories still in it, and {wanted} would take them over;"
        f" an admin must release or purge it first ({API_PATH}/{tombstone.name})"
    )


async def _reserved(request: web.Request, name: str) -> Tombstone:
    tombstone = await request.config_dict[keys.STORE].get_tombstone(name)
    if tombstone is None:
        raise not_found(f"namespace {name!r} is not reserved")
    return tombstone


async def list_tombstones(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    require_admin(caller, "list reserved namespaces")
    page = page_request(request)
    found, next_name = await collect(request.config_dict[keys.STORE].list_tombstones, lambda t: t.name, page)
    return json_response(page_body([tombstone_json(t) for t in found], next_name))


async def get_tombstone(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    require_admin(caller, "read reserved namespaces")
    return json_response(tombstone_json(await _reserved(request, namespace_param(request))))


async def release_tombstone(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    require_admin(caller, "release reserved namespaces")
    name = namespace_param(request)
    tombstone = await _reserved(request, name)
    store = request.config_dict[keys.STORE]
    if not await store.end_tombstone(name, "released", caller.name):
        raise not_found(f"namespace {name!r} is not reserved")
    left = len(await store.namespace_repositories(name))
    message = (
        f"namespace {name!r} released: its {left} repositories remain in the registry, and whoever takes"
        f" the name {name!r} next (a new user, or a team namespace) gets them"
    )
    return json_response({"message": message, "released": {**tombstone_json(tombstone), "repositories": left}})


def _upstream(request: web.Request, admin: str) -> Upstream:
    """The registry, with a token of the gateway's own per repository when it verifies tokens."""
    app = request.config_dict
    settings = app[keys.SETTINGS]
    service = service_name(request, settings)

    def headers_for(repository: str) -> dict[str, str]:
        if not settings.upstream_forward_token:
            return {}
        issued = app[keys.ISSUER].issue(admin, service, [Scope("repository", repository, ("pull", "delete"))])
        return {"Authorization": f"Bearer {issued.token}"}

    return Upstream(app[keys.UPSTREAM], settings.upstream_url.origin(), headers_for)


async def purge_tombstone(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    require_admin(caller, "purge reserved namespaces")
    name = namespace_param(request)
    await _reserved(request, name)
    app = request.config_dict
    if not app[keys.POLICY_RULES].delete_enabled:
        raise conflict("deletion is disabled in this gateway (delete.enabled = false); release the name instead")
    store = app[keys.STORE]
    recorder, cache = app[keys.EVENTS], app[keys.MANIFEST_CACHE]
    actor = Actor(caller.name, recorder.source_addr, recorder.instance_id, cache.deleted)
    try:
        purged = await purge_namespace(store, _upstream(request, caller.name), name, actor)
    except PurgeError as exc:
        done = f" ({exc.repositories} repositories and {exc.manifests} manifests purged before it stopped; the name stays reserved)"
        if exc.refused:
            raise conflict(str(exc) + done) from None
        raise ApiError(UNAVAILABLE, str(exc) + done) from None
    await store.end_tombstone(name, "purged", caller.name)
    message = (
        f"namespace {name!r} purged: {purged.manifests} manifests of {purged.repositories} repositories deleted"
        " in the registry (their layers go at its next garbage collection); the name is free"
    )
    return json_response({"message": message, "purged": {"namespace": name, **vars(purged)}})
