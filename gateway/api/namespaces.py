"""/namespaces and /namespaces/{namespace}: team namespaces (created and managed by the team's
owners and admins) and the settings of personal namespaces (a user's own name).

A personal namespace has no row until its user first changes it: it then reads as private
with no team. Names are shared with users, so a namespace may not take a user's name, nor a
reserved one (deleted with repositories in it, see tombstones.py); one whose name a user could
have (the user-name grammar) only an admin creates: otherwise any team owner could take the
personal namespace of a user yet to come (`could_be_a_user`). Deleting a team namespace that
holds repositories reserves its name.
A namespace the caller may not see answers exactly as one that does not exist (404), so names
cannot be probed; one they see but may not manage answers 403.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys, names
from gateway.api.caller import Caller, authenticate, require_admin, require_self_or_admin
from gateway.api.errors import ApiError, bad_request, conflict, forbidden, not_found
from gateway.api.inputs import Body, json_object
from gateway.api.names import checked, namespace_param
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, namespace_json
from gateway.api.teams import existing_team, require_owner
from gateway.api.tombstones import deletion_response, reserved_conflict
from gateway.auth.policy import VISIBILITIES
from gateway.names import could_be_a_user
from gateway.store import Conflict, Namespace

DEFAULT_VISIBILITY = "private"


async def _may_see(request: web.Request, caller: Caller, namespace: Namespace) -> bool:
    if caller.admin or namespace.visibility != "private" or namespace.name == caller.name:
        return True
    if namespace.team is None:
        return False
    return await request.config_dict[keys.STORE].get_role(namespace.team, caller.name) is not None


async def _lookup(request: web.Request, name: str) -> tuple[Namespace | None, bool]:
    """The namespace's row (if any) and whether it is a user's personal namespace."""
    store = request.config_dict[keys.STORE]
    row = await store.get_namespace(name)
    personal = (row is None or row.team is None) and await store.get_user(name) is not None
    return row, personal


def _no_such(name: str) -> ApiError:
    return not_found(f"no such namespace {name!r}")


async def _existing(request: web.Request, name: str, caller: Caller) -> tuple[Namespace, bool]:
    """The namespace if it exists and the caller may see it; else 404, the same either way."""
    row, personal = await _lookup(request, name)
    if row is not None:
        namespace = row
    elif personal:
        user = await request.config_dict[keys.STORE].get_user(name)
        namespace = Namespace(name, None, DEFAULT_VISIBILITY, user.created_at if user else 0)
    else:
        raise _no_such(name)
    if not await _may_see(request, caller, namespace):
        raise _no_such(name)
    return namespace, personal


async def _require_manager(request: web.Request, caller: Caller, namespace: Namespace, personal: bool, action: str) -> None:
    if namespace.team is not None:
        await require_owner(request, caller, namespace.team, action)
    elif personal:
        require_self_or_admin(caller, namespace.name, action)
    else:
        require_admin(caller, f"{action} (namespace {namespace.name!r} belongs to no team)")


async def list_namespaces(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    page = page_request(request)

    async def visible(namespace: Namespace) -> bool:
        return await _may_see(request, caller, namespace)

    store = request.config_dict[keys.STORE]
    found, next_name = await collect(store.list_namespaces, lambda n: n.name, page, None if caller.admin else visible)
    return json_response(page_body([namespace_json(n) for n in found], next_name))


async def create_namespace(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    body = Body(await json_object(request), ("name", "team", "visibility"))
    name = checked(names.NAMESPACE, body.required_text("name"))
    team = checked(names.TEAM, body.required_text("team"))
    visibility = body.choice("visibility", VISIBILITIES) or DEFAULT_VISIBILITY
    await existing_team(request, team)
    await require_owner(request, caller, team, "create namespaces for it")
    if not caller.admin and name != caller.name and could_be_a_user(name):  # before any lookup: tells nothing
        raise forbidden(
            f"only admins may create namespace {name!r}: it could be a user's name, and a user's name is their"
            " personal namespace; name a team namespace with '__' or '--' in it (e.g. 'web__tools'), or ask an admin"
        )
    store = request.config_dict[keys.STORE]
    if await store.get_user(name) is not None:
        raise conflict(f"{name!r} is the personal namespace of user {name!r}")
    tombstone = await store.get_tombstone(name)
    if tombstone is not None:
        raise reserved_conflict(tombstone, f"a namespace named {name!r}")
    try:
        namespace = await store.create_namespace(name, team, visibility)
    except Conflict:
        raise conflict(f"namespace {name!r} already exists") from None
    return json_response(namespace_json(namespace), 201)


async def get_namespace(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    namespace, _ = await _existing(request, namespace_param(request), caller)
    return json_response(namespace_json(namespace))


async def update_namespace(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    name = namespace_param(request)
    body = Body(await json_object(request), ("visibility", "team"))
    visibility = body.choice("visibility", VISIBILITIES)
    new_team = body.text("team")
    if new_team is not None:
        checked(names.TEAM, new_team)
    if visibility is None and new_team is None:
        raise bad_request("nothing to change: give visibility and/or team")
    namespace, personal = await _existing(request, name, caller)
    await _require_manager(request, caller, namespace, personal, "change this namespace")
    if new_team is not None:
        if personal:
            raise conflict(f"{name!r} is the personal namespace of user {name!r}; it cannot belong to a team")
        await existing_team(request, new_team)
        await require_owner(request, caller, new_team, "move namespaces into it")
    store = request.config_dict[keys.STORE]
    if not await store.update_namespace(name, visibility=visibility, team=new_team):
        try:  # a personal namespace's first change creates its row
            await store.create_namespace(name, None, visibility or DEFAULT_VISIBILITY)
        except Conflict:
            await store.update_namespace(name, visibility=visibility)
    updated, _ = await _existing(request, name, caller)
    return json_response(namespace_json(updated))


async def delete_namespace(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    name = namespace_param(request)
    row, personal = await _lookup(request, name)
    if row is None or not await _may_see(request, caller, row):
        own = personal and (caller.admin or caller.name == name)
        raise not_found(f"no such namespace {name!r}" + (" (a personal namespace has no settings to delete)" if own else ""))
    await _require_manager(request, caller, row, personal, "delete this namespace")
    deletion = await request.config_dict[keys.STORE].delete_namespace(name, deleted_by=caller.name)
    if deletion.reserved is not None:
        request.config_dict[keys.REVOCATIONS].reserve(deletion.reserved.name, deletion.reserved.deleted_at)
    if not deletion.deleted:
        raise not_found(f"no such namespace {name!r}")
    return deletion_response(f"namespace {name!r}", deletion)
