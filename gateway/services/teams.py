"""Teams and their members: any signed-in user may found a team (and becomes its owner); members
read it, owners and admins delete it and add, change and remove members; any member may leave.
Non-admins only ever list their own teams. Who may not read a team is told it does not exist,
exactly as for a name never used (NotFound, same message), whatever they ask of it, so team names
cannot be probed; a member who may read it but not manage it is refused (Forbidden), which tells
them nothing they do not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway import names
from gateway.auth.permissions import OPERATOR, Actor, may_manage_team, may_read_team
from gateway.auth.policy import ROLES
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.services.guards import valid_name
from gateway.services.paging import page_of
from gateway.store import Conflict as StoreConflict
from gateway.store import Member, Team


@dataclass(frozen=True)
class TeamRights:
    """What the actor is in a team and may do there: `role` their own membership (None: not a
    member, admins included), `manages` whether they may manage it (owners and admins)."""

    role: str | None
    manages: bool


async def _role(services: Services, actor: Actor, team: str) -> str | None:
    return None if actor.admin else await services.store.get_role(team, actor.name)


async def readable_team(services: Services, actor: Actor, name: str) -> tuple[Team, str | None]:
    """The team and the actor's role in it (None: no member, admins included), when the actor may
    read it; else the very NotFound a name never used gets (the one check for every team action)."""
    valid_name(names.TEAM, name)
    team = await services.store.get_team(name)
    role = None if team is None else await _role(services, actor, name)
    if team is None or not may_read_team(actor, role):
        raise NotFound(f"no such team {name!r}")
    return team, role


async def require_team_owner(services: Services, actor: Actor, team: str, action: str) -> Team:
    """The team, if the actor may manage it: NotFound if they may not read it, Forbidden if they only read it."""
    found, role = await readable_team(services, actor, team)
    if not may_manage_team(actor, role):
        raise Forbidden(f"only owners of team {team!r} and admins may {action}")
    return found


async def list_teams(services: Services, actor: Actor, after: str, limit: int) -> tuple[list[Team], str | None]:
    """A page of the teams the actor may read (admins: all; others: their own), by name, and
    the name to go on after (None at the end)."""

    if actor.admin:
        return await page_of(services.store.list_teams, lambda t: t.name, after, limit)

    async def theirs(start: str, count: int) -> list[Team]:
        return await services.store.list_teams_of(actor.name, start, count)  # any member may read the team

    return await page_of(theirs, lambda t: t.name, after, limit)


async def create_team(services: Services, actor: Actor, name: str) -> Team:
    """The team, its founder its first owner (both or neither). The command line's operator is
    no user, so a team it founds has no owner until one is added."""
    valid_name(names.TEAM, name)
    store = services.store
    try:
        async with store.transaction():
            team = await store.create_team(name)
            if actor != OPERATOR:
                await store.set_member(name, actor.name, "owner")
    except StoreConflict:
        raise Conflict(f"team {name!r} already exists") from None
    return team


async def get_team(services: Services, actor: Actor, name: str) -> Team:
    team, _ = await readable_team(services, actor, name)
    return team


async def team_rights(services: Services, actor: Actor, name: str) -> TeamRights:
    """The actor's place in a team they may read (so a page offers only what they may do)."""
    _, role = await readable_team(services, actor, name)
    if actor.admin:  # readable_team reads no role for admins; the page still shows theirs
        role = await services.store.get_role(name, actor.name)
    return TeamRights(role, may_manage_team(actor, role))


async def manageable_teams(services: Services, actor: Actor, limit: int) -> tuple[list[Team], str | None]:
    """The first `limit` teams the actor may manage (admins: all; others: those they own), so a
    form offers only teams it may move namespaces into; and the name to go on after. A
    non-admin's are looked for among their own teams, a batch's roles in one statement: not
    every team in the store with a statement each."""
    if actor.admin:
        return await page_of(services.store.list_teams, lambda t: t.name, "", limit)
    roles: dict[str, str] = {}

    async def theirs(start: str, count: int) -> list[Team]:
        return await services.store.list_teams_of(actor.name, start, count)

    async def prepare(batch: Sequence[Team]) -> None:
        roles.clear()
        roles.update(await services.store.roles_in([t.name for t in batch], actor.name))

    async def owned(team: Team) -> bool:
        return may_manage_team(actor, roles.get(team.name))

    return await page_of(theirs, lambda t: t.name, "", limit, owned, prepare)


async def check_delete_team(services: Services, actor: Actor, name: str) -> Team:
    """The team, if the actor may delete it (else the refusal `delete_team` would give), so a
    page asks for a confirmation only of those who may."""
    return await require_team_owner(services, actor, name, "delete this team")


async def delete_team(services: Services, actor: Actor, name: str) -> None:
    """Its memberships go with it; its namespaces stay, with their repositories and visibility,
    but belong to no team, so only admins manage them (see store.delete_team)."""
    await check_delete_team(services, actor, name)
    if not await services.store.delete_team(name):
        raise NotFound(f"no such team {name!r}")


async def list_members(
    services: Services, actor: Actor, team: str, after: str, limit: int
) -> tuple[list[Member], str | None]:
    await readable_team(services, actor, team)

    async def fetch(after: str, count: int) -> list[Member]:
        return await services.store.list_members(team, after, count)

    return await page_of(fetch, lambda m: m.username, after, limit)


async def put_member(services: Services, actor: Actor, team: str, username: str, role: str) -> bool:
    """Add `username` to the team with `role`, or change their role; True when added."""
    valid_name(names.USER, username)
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    store = services.store
    async with store.transaction():
        await require_team_owner(services, actor, team, "add or change members")
        if await store.get_user(username) is None:
            raise NotFound(f"no such user {username!r}")
        return await store.set_member(team, username, role)


async def remove_member(services: Services, actor: Actor, team: str, username: str) -> None:
    """Owners and admins remove anyone; any member may leave (remove themself)."""
    valid_name(names.USER, username)
    if username == actor.name:
        await readable_team(services, actor, team)
    else:
        await require_team_owner(services, actor, team, "remove members")
    if not await services.store.remove_member(team, username):
        raise NotFound(f"{username!r} is not a member of team {team!r}")
