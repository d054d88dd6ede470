"""/teams and /teams/{team}: parse, call gateway.services.teams, render."""

from __future__ import annotations

from aiohttp import web

from gateway.api.caller import authenticate, services
from gateway.api.inputs import Body, json_object
from gateway.api.names import team_param
from gateway.api.paging import page_body, page_request
from gateway.api.render import json_response, no_content, team_json
from gateway.services import teams


async def list_teams(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    page = page_request(request)
    found, next_name = await teams.list_teams(services(request), actor, page.after, page.limit)
    return json_response(page_body([team_json(t) for t in found], next_name))


async def create_team(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    body = Body(await json_object(request), ("name",))
    team = await teams.create_team(services(request), actor, body.required_text("name"))
    return json_response(team_json(team), 201)


async def get_team(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    team = await teams.get_team(services(request), actor, team_param(request))
    return json_response(team_json(team))


async def delete_team(request: web.Request) -> web.Response:
    actor = (await authenticate(request)).actor
    await teams.delete_team(services(request), actor, team_param(request))
    return no_content()
