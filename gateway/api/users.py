"""/users and /users/{user}: accounts (the rules are gateway/services/users.py). Deleting a user
whose namespace holds repositories answers 200 with the reservation (see tombstones.py)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.caller import authenticate, services
from gateway.api.inputs import Body, json_object
from gateway.api.names import user_param
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, user_json
from gateway.api.tombstones import deletion_response
from gateway.auth.app_tokens import PASSWORD_MAX
from gateway.services import users
from gateway.store import User


async def list_users(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    page = page_request(request)

    async def fetch(after: str, limit: int) -> list[User]:
        return await users.list_users(services(request), actor, after, limit)

    found, next_name = await collect(fetch, lambda u: u.name, page)
    return json_response(page_body([user_json(u) for u in found], next_name))


async def create_user(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    body = Body(await json_object(request), ("name", "password", "admin"))
    name = body.required_text("name")
    password = body.required_text("password", max_length=PASSWORD_MAX)
    user = await users.create_user(services(request), actor, name, password, admin=bool(body.flag("admin")))
    return json_response(user_json(user), 201)


async def get_user(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    return json_response(user_json(await users.get_user(services(request), actor, user_param(request))))


async def update_user(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    name = user_param(request)
    body = Body(await json_object(request), ("password", "admin", "disabled"))
    change = users.UserChange(body.text("password", max_length=PASSWORD_MAX), body.flag("admin"), body.flag("disabled"))
    changed = await users.update_user(services(request), actor, name, change)
    answer = user_json(changed.user)
    if changed.note is not None:
        answer["note"] = changed.note
    return json_response(answer)


async def delete_user(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    name = user_param(request)
    return deletion_response(f"user {name!r}", await users.delete_user(services(request), actor, name))
