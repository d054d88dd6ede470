"""/users/{user}/tokens[/{name}]: application tokens for CI and robots.

Made by the user themself or an admin, with a password (never through another application
token); the secret is in the 201 answer only. Revoking also tells the in-process revocation
view, so JWTs already issued from the token fail on their very next request.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys, names
from gateway.api.caller import authenticate, require_self_or_admin
from gateway.api.errors import bad_request, conflict, not_found
from gateway.api.inputs import Body, json_object
from gateway.api.names import checked, user_param
from gateway.api.paging import collect, in_memory, page_body, page_request
from gateway.api.render import app_token_json, json_response, no_content
from gateway.auth.app_tokens import AppTokenError, new_app_token, parse_duration
from gateway.store import Conflict

ACTIONS = ("pull", "push", "delete")
DEFAULT_ACTIONS = ("pull",)


async def _require_user(request: web.Request, username: str) -> None:
    if await request.config_dict[keys.STORE].get_user(username) is None:
        raise not_found(f"no such user {username!r}")


async def list_tokens(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    username = user_param(request)
    require_self_or_admin(caller, username, "list this user's application tokens")
    page = page_request(request)
    await _require_user(request, username)
    tokens = await request.config_dict[keys.STORE].list_app_tokens(username)
    found, next_name = await collect(in_memory(tokens, lambda t: t.name), lambda t: t.name, page)
    return json_response(page_body([app_token_json(t) for t in found], next_name))


async def create_token(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    username = user_param(request)
    require_self_or_admin(caller, username, "create application tokens for this user")
    body = Body(await json_object(request), ("name", "namespaces", "actions", "expires_in"))
    name = checked(names.TOKEN, body.required_text("name", max_length=64))
    namespaces = body.texts("namespaces") or []
    actions = body.texts("actions", choices=ACTIONS)
    expires_text = body.text("expires_in", max_length=16)
    try:
        expires_in = parse_duration(expires_text) if expires_text is not None else None
        created = new_app_token(username, name, namespaces, list(DEFAULT_ACTIONS if actions is None else actions), expires_in)
    except AppTokenError as exc:
        raise bad_request(str(exc)) from None
    await _require_user(request, username)
    try:
        await request.config_dict[keys.STORE].create_app_token(created.record)
    except Conflict:
        raise conflict(f"{username!r} already has an application token named {name!r}") from None
    return json_response({**app_token_json(created.record), "secret": created.secret}, 201)


async def revoke_token(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    username = user_param(request)
    require_self_or_admin(caller, username, "revoke this user's application tokens")
    name = checked(names.TOKEN, request.match_info["token"])
    token_id = await request.config_dict[keys.STORE].revoke_app_token(username, name)
    if token_id is None:
        raise not_found(f"{username!r} has no application token named {name!r}")
    request.config_dict[keys.REVOCATIONS].revoke_app_token(token_id)
    return no_content()
