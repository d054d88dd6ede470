"""Teams: my teams (admins: all) and founding one; a team's page with its members, their roles
and which directory's sync manages each membership, its namespaces with their visibility, and
the owners' forms to change them, to move a namespace into another team they manage and to
delete the team after a confirmation (any member may leave). Every form posts to the service
that decides whether the actor may."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from gateway.auth.policy import ROLES, VISIBILITIES
from gateway.services import namespaces, teams
from gateway.services.errors import Conflict, Invalid
from gateway.ui.context import services
from gateway.ui.errors import status_of
from gateway.ui.manage.common import PAGE_SIZE, after, done, flash, text
from gateway.ui.pages import render, require_signed_in
from gateway.ui.sessions import UI_PATH

TEAMS_PATH = f"{UI_PATH}/teams"
# How the team page names the directory whose sync manages a membership (Member.managed_by).
MANAGERS = {"ldap": "the LDAP directory", "oidc": "the OpenID provider"}


def team_path(team: str) -> str:
    return f"{TEAMS_PATH}/{URL.build(path=team).raw_path}"


async def _teams_page(request: web.Request, *, name: str = "", error: str | None = None, status: int = 200) -> web.Response:
    who = require_signed_in(request)
    listed, next_after = await teams.list_teams(services(request), who.actor, after(request), PAGE_SIZE)
    context = {
        "title": "Teams", "nav": "teams", "teams": listed, "next_after": next_after,
        "flash": flash(request), "error": error, "name": name,
    }
    return render(request, "manage_teams.html", context, status=status)


async def teams_page(request: web.Request) -> web.Response:
    return await _teams_page(request)


async def create(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    name = text(await request.post(), "name")
    try:
        await teams.create_team(services(request), who.actor, name)
    except (Invalid, Conflict) as exc:
        return await _teams_page(request, name=name, error=exc.message, status=status_of(exc))
    raise done(request, team_path(name), f"Team {name} created; you are its owner.")


async def team_page(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    team, found = request.match_info["team"], services(request)
    rights = await teams.team_rights(found, who.actor, team)
    members, members_next = await teams.list_members(found, who.actor, team, after(request), PAGE_SIZE)
    owned, namespaces_next = await namespaces.list_team_namespaces(
        found, who.actor, team, after(request, "namespaces_after"), PAGE_SIZE,
    )
    targets: list[str] = []
    more_targets = False
    if rights.manages and owned:
        managed, next_managed = await teams.manageable_teams(found, who.actor, PAGE_SIZE)
        targets, more_targets = [t.name for t in managed if t.name != team], next_managed is not None
    context = {
        "title": f"Team {team}", "nav": "teams", "team": team, "rights": rights, "roles": ROLES,
        "visibilities": VISIBILITIES, "members": members, "members_next": members_next,
        "namespaces": owned, "namespaces_next": namespaces_next, "flash": flash(request), "error": None,
        "team_path": team_path(team), "targets": targets, "more_targets": more_targets, "managers": MANAGERS,
    }
    return render(request, "manage_team.html", context)


async def confirm_delete(request: web.Request) -> web.Response:
    """What deleting the team does, before the form that does it (for who may only)."""
    who = require_signed_in(request)
    name, found = request.match_info["team"], services(request)
    team = await teams.check_delete_team(found, who.actor, name)
    owned, more = await namespaces.list_team_namespaces(found, who.actor, team.name, "", PAGE_SIZE)
    context = {
        "title": f"Delete team {team.name}", "nav": "teams", "team": team.name, "team_path": team_path(team.name),
        "namespaces": owned, "more_namespaces": more is not None,
    }
    return render(request, "manage_team_delete.html", context)


async def delete(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    team = request.match_info["team"]
    await teams.delete_team(services(request), who.actor, team)
    raise done(request, TEAMS_PATH, f"Team {team} deleted. Any namespaces it had now belong to no team; admins manage them.")


async def add_member(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    team, form = request.match_info["team"], await request.post()
    username, role = text(form, "username"), text(form, "role")
    added = await teams.put_member(services(request), who.actor, team, username, role)
    raise done(request, team_path(team), f"{username} {'added' if added else 'is now'} as {role}.")


async def change_role(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    team, username = request.match_info["team"], request.match_info["user"]
    role = text(await request.post(), "role")
    await teams.put_member(services(request), who.actor, team, username, role)
    raise done(request, team_path(team), f"{username} is now {role}.")


async def remove_member(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    team, username = request.match_info["team"], request.match_info["user"]
    await teams.remove_member(services(request), who.actor, team, username)
    if username == who.user.name:
        raise done(request, TEAMS_PATH, f"You left team {team}.")
    raise done(request, team_path(team), f"{username} removed from the team.")


async def create_namespace(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    team, form = request.match_info["team"], await request.post()
    name, visibility = text(form, "name"), text(form, "visibility")
    await namespaces.create_namespace(services(request), who.actor, name, team, visibility)
    raise done(request, team_path(team), f"Namespace {name} created ({visibility}).")


async def change_visibility(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    team, name = request.match_info["team"], request.match_info["namespace"]
    visibility = text(await request.post(), "visibility")
    await namespaces.update_namespace(services(request), who.actor, name, visibility=visibility)
    raise done(request, team_path(team), f"Namespace {name} is now {visibility}.")


async def move_namespace(request: web.Request) -> web.Response:
    """Into another team: the same rules as PATCH /api/v1/namespaces/NAME with a team."""
    who = require_signed_in(request)
    name, target = request.match_info["namespace"], text(await request.post(), "team")
    await namespaces.update_namespace(services(request), who.actor, name, team=target)
    raise done(request, team_path(target), f"Namespace {name} moved to team {target}.")
