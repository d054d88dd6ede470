"""/users and /users/{user}: accounts. Admins manage everyone; a user reads, re-passwords and
deletes themself. Disabling takes effect at once in this process (tokens already issued die
on their next request) and revokes the user's refresh tokens, and so does a new password;
enabling again says, in a `note`, that those stay revoked. Deleting a user whose namespace holds
repositories keeps the name reserved (see tombstones.py), and a reserved name cannot be given to
a new user.
"""

from __future__ import annotations

import time

from aiohttp import web

from gateway import keys, names
from gateway.api.caller import authenticate, require_admin, require_self_or_admin
from gateway.api.errors import bad_request, conflict, forbidden, not_found
from gateway.api.inputs import Body, json_object
from gateway.api.names import checked, user_param
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, user_json
from gateway.api.tombstones import deletion_response, reserved_conflict
from gateway.auth.app_tokens import PASSWORD_MAX, password_problem
from gateway.auth.revocation import ENABLED_AGAIN_NOTE
from gateway.store import Conflict, User


def _check_password(password: str) -> str:
    problem = password_problem(password)
    if problem is not None:
        raise bad_request(problem)
    return password


async def _existing(request: web.Request, name: str) -> User:
    user = await request.config_dict[keys.STORE].get_user(name)
    if user is None:
        raise not_found(f"no such user {name!r}")
    return user


async def list_users(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    require_admin(caller, "list users")
    page = page_request(request)
    users, next_name = await collect(request.config_dict[keys.STORE].list_users, lambda u: u.name, page)
    return json_response(page_body([user_json(u) for u in users], next_name))


async def create_user(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    require_admin(caller, "create users")
    body = Body(await json_object(request), ("name", "password", "admin"))
    name = checked(names.USER, body.required_text("name"))
    password = _check_password(body.required_text("password", max_length=PASSWORD_MAX))
    admin = bool(body.flag("admin"))
    store = request.config_dict[keys.STORE]
    if await store.get_user(name) is not None:
        raise conflict(f"user {name!r} already exists")
    tombstone = await store.get_tombstone(name)
    if tombstone is not None:
        raise reserved_conflict(tombstone, f"a user named {name!r}")
    if await store.get_namespace(name) is not None:
        # The user would inherit it as their personal namespace, with whatever repositories it holds.
        raise conflict(f"a namespace named {name!r} exists; a user's name is their personal namespace (delete the namespace first)")
    password_hash = await request.config_dict[keys.HASHER].hash(password)
    try:
        user = await store.create_user(name, password_hash, admin=admin)
    except Conflict:
        raise conflict(f"user {name!r} already exists") from None
    return json_response(user_json(user), 201)


async def get_user(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    name = user_param(request)
    require_self_or_admin(caller, name, "read this user")
    return json_response(user_json(await _existing(request, name)))


async def update_user(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    name = user_param(request)
    require_self_or_admin(caller, name, "change this user")
    body = Body(await json_object(request), ("password", "admin", "disabled"))
    password = body.text("password", max_length=PASSWORD_MAX)
    admin, disabled = body.flag("admin"), body.flag("disabled")
    if password is not None:
        _check_password(password)
    if (admin is not None or disabled is not None) and not caller.admin:
        raise forbidden("only admins may change the admin or disabled flags")
    if name == caller.name and (admin is False or disabled is True):
        raise forbidden("admins may not drop their own admin rights or disable themselves; ask another admin")
    before = await _existing(request, name)
    store = request.config_dict[keys.STORE]
    changed = True
    if password is not None:
        changed &= await store.set_user_password(name, await request.config_dict[keys.HASHER].hash(password))
        # Whoever held a stored login (docker's refresh token) must prove the new password.
        await store.revoke_refresh_tokens(name)
    if admin is not None:
        changed &= await store.set_user_admin(name, admin)
    if disabled is not None:
        changed &= await store.set_user_disabled(name, disabled)
        if disabled:
            # After the write, so a store refresh cannot undo it; refresh tokens would mint new JWTs.
            request.config_dict[keys.REVOCATIONS].disable(name)
            await store.revoke_refresh_tokens(name)
        else:
            request.config_dict[keys.REVOCATIONS].enable(name)
    if not changed:
        raise not_found(f"no such user {name!r}")
    answer = user_json(await _existing(request, name))
    if disabled is False and before.disabled:
        answer["note"] = ENABLED_AGAIN_NOTE
    return json_response(answer)


async def delete_user(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    name = user_param(request)
    require_self_or_admin(caller, name, "delete this user")
    if caller.admin and name == caller.name:
        raise forbidden("admins may not delete themselves; ask another admin")
    await _existing(request, name)
    store = request.config_dict[keys.STORE]
    revocations = request.config_dict[keys.REVOCATIONS]
    # Revoke (not just delete) the application tokens, so JWTs issued from them die at once too.
    for token in await store.list_app_tokens(name):
        token_id = await store.revoke_app_token(name, token.name)
        if token_id is not None:
            revocations.revoke_app_token(token_id)
    deletion = await store.delete_user(name, deleted_by=caller.name)
    if deletion.reserved is not None:
        # In this process at once (others at their next refresh): tokens issued before are void there.
        revocations.reserve(deletion.reserved.name, deletion.reserved.deleted_at)
    if not deletion.deleted:
        raise not_found(f"no such user {name!r}")
    revocations.delete(name, int(time.time()))
    return deletion_response(f"user {name!r}", deletion)
