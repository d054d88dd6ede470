"""/teams and /teams/{team}: any signed-in user may found a team (and becomes its owner);
members read it, owners and admins delete it. Non-admins only ever see their own teams.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys, names
from gateway.api.caller import Caller, authenticate
from gateway.api.errors import conflict, forbidden, not_found
from gateway.api.inputs import Body, json_object
from gateway.api.names import checked, team_param
from gateway.api.paging import collect, page_body, page_request
from gateway.api.render import json_response, no_content, team_json
from gateway.store import Conflict, Team


async def existing_team(request: web.Request, name: str) -> Team:
    team = await request.config_dict[keys.STORE].get_team(name)
    if team is None:
        raise not_found(f"no such team {name!r}")
    return team


async def require_member(request: web.Request, caller: Caller, team: str, action: str) -> None:
    if caller.admin or await request.config_dict[keys.STORE].get_role(team, caller.name) is not None:
        return
    raise forbidden(f"only members of team {team!r} and admins may {action}")


async def require_owner(request: web.Request, caller: Caller, team: str, action: str) -> None:
    if caller.admin or await request.config_dict[keys.STORE].get_role(team, caller.name) == "owner":
        return
    raise forbidden(f"only owners of team {team!r} and admins may {action}")


async def list_teams(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    page = page_request(request)
    store = request.config_dict[keys.STORE]

    async def belongs(team: Team) -> bool:
        return await store.get_role(team.name, caller.name) is not None

    teams, next_name = await collect(store.list_teams, lambda t: t.name, page, None if caller.admin else belongs)
    return json_response(page_body([team_json(t) for t in teams], next_name))


async def create_team(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    body = Body(await json_object(request), ("name",))
    name = checked(names.TEAM, body.required_text("name"))
    store = request.config_dict[keys.STORE]
    try:
        team = await store.create_team(name)
    except Conflict:
        raise conflict(f"team {name!r} already exists") from None
    await store.set_member(name, caller.name, "owner")
    return json_response(team_json(team), 201)


async def get_team(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    name = team_param(request)
    team = await existing_team(request, name)
    await require_member(request, caller, name, "read this team")
    return json_response(team_json(team))


async def delete_team(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    name = team_param(request)
    await existing_team(request, name)
    await require_owner(request, caller, name, "delete this team")
    if not await request.config_dict[keys.STORE].delete_team(name):
        raise not_found(f"no such team {name!r}")
    return no_content()
