"""/users/{user}/tokens[/{name}]: application tokens (the rules are gateway/services/tokens.py);
the secret is in the 201 answer only."""

from __future__ import annotations

from aiohttp import web

from gateway.api.caller import authenticate, services
from gateway.api.inputs import Body, json_object
from gateway.api.names import user_param
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import app_token_json, json_response, no_content
from gateway.services import tokens
from gateway.services.tokens import ACTIONS
from gateway.store import AppToken


async def list_tokens(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    username = user_param(request)
    page = page_request(request)
    using = services(request)

    async def fetch(after: str, limit: int) -> list[AppToken]:
        return await tokens.list_tokens(using, actor, username, after, limit)

    shown, next_name = await collect(fetch, lambda t: t.name, page)
    return json_response(page_body([app_token_json(t) for t in shown], next_name))


async def create_token(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    username = user_param(request)
    body = Body(await json_object(request), ("name", "namespaces", "actions", "expires_in"))
    created = await tokens.create_token(
        services(request), actor, username, body.required_text("name", max_length=64),
        namespaces=body.texts("namespaces"), actions=body.texts("actions", choices=ACTIONS),
        expires=body.text("expires_in", max_length=16),
    )
    return json_response({**app_token_json(created.record), "secret": created.secret}, 201)


async def revoke_token(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    await tokens.revoke_token(services(request), actor, user_param(request), request.match_info["token"])
    return no_content()
