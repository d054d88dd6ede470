"""/teams/{team}/members[/{user}]: parse, call gateway.services.teams, render. PUT answers 201
when it added a member, 200 when it changed a role."""

from __future__ import annotations

from aiohttp import web

from gateway.api.caller import authenticate, services
from gateway.api.inputs import Body, json_object
from gateway.api.names import team_param, user_param
from gateway.api.paging import page_body, page_request
from gateway.api.render import json_response, member_json, no_content
from gateway.auth.policy import ROLES
from gateway.services import teams
from gateway.store import Member


async def list_members(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    team = team_param(request)
    page = page_request(request)
    members, next_name = await teams.list_members(services(request), actor, team, page.after, page.limit)
    return json_response(page_body([member_json(m) for m in members], next_name))


async def put_member(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    team, username = team_param(request), user_param(request)
    body = Body(await json_object(request), ("role",))
    role = body.choice("role", ROLES, required=True)
    assert role is not None
    added = await teams.put_member(services(request), actor, team, username, role)
    return json_response(member_json(Member(team, username, role)), 201 if added else 200)


async def delete_member(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    await teams.remove_member(services(request), actor, team_param(request), user_param(request))
    return no_content()
