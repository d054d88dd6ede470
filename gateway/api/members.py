"""/teams/{team}/members[/{user}]: members read the list; owners and admins add, change and
remove members; any member may leave. PUT answers 201 when it added, 200 when it changed a role.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.caller import authenticate
from gateway.api.errors import not_found
from gateway.api.inputs import Body, json_object
from gateway.api.names import team_param, user_param
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, member_json, no_content
from gateway.api.teams import existing_team, require_member, require_owner
from gateway.auth.policy import ROLES
from gateway.store import Member


async def list_members(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    team = team_param(request)
    page = page_request(request)
    await existing_team(request, team)
    await require_member(request, caller, team, "list its members")
    store = request.config_dict[keys.STORE]

    async def fetch(after: str, count: int) -> list[Member]:
        return await store.list_members(team, after, count)

    members, next_name = await collect(fetch, lambda m: m.username, page)
    return json_response(page_body([member_json(m) for m in members], next_name))


async def put_member(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    team, username = team_param(request), user_param(request)
    body = Body(await json_object(request), ("role",))
    role = body.choice("role", ROLES, required=True)
    assert role is not None
    await existing_team(request, team)
    await require_owner(request, caller, team, "add or change members")
    store = request.config_dict[keys.STORE]
    if await store.get_user(username) is None:
        raise not_found(f"no such user {username!r}")
    added = await store.set_member(team, username, role)
    return json_response(member_json(Member(team, username, role)), 201 if added else 200)


async def delete_member(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    team, username = team_param(request), user_param(request)
    await existing_team(request, team)
    if username != caller.name:  # leaving a team needs no owner
        await require_owner(request, caller, team, "remove members")
    if not await request.config_dict[keys.STORE].remove_member(team, username):
        raise not_found(f"{username!r} is not a member of team {team!r}")
    return no_content()
