"""gateway.services.teams in-process, on SQLite and MariaDB: who may list, found, read and
delete teams and manage their members; names; the founder's ownership in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from gateway.auth.permissions import OPERATOR, Actor
from gateway.services import teams
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.store import StoreUnavailable
from tests.integration.services.conftest import ADMIN, ALICE, BOB
from tests.support.stores import counted

CAROL = Actor("carol")


async def _users(services: Services, *names: str) -> None:
    for name in names:
        await services.store.create_user(name, "hash")


async def _team(services: Services, name: str, owner: Actor) -> None:
    """A team `owner` founds (their user made first when missing)."""
    if await services.store.get_user(owner.name) is None:
        await _users(services, owner.name)
    await teams.create_team(services, owner, name)


async def _names(services: Services, actor: Actor, limit: int = 100) -> list[str]:
    found, _ = await teams.list_teams(services, actor, "", limit)
    return [t.name for t in found]


# --- founding --------------------------------------------------------------------------------


async def test_a_user_founding_a_team_becomes_its_owner(services: Services) -> None:
    await _team(services, "web", ALICE)
    assert await services.store.get_role("web", "alice") == "owner"


async def test_the_operator_founds_a_team_with_no_owner(services: Services) -> None:
    team = await teams.create_team(services, OPERATOR, "web")
    assert team.name == "web"
    assert await services.store.list_members("web") == []


async def test_founding_a_team_whose_name_is_taken_is_a_conflict(services: Services) -> None:
    await _team(services, "web", ALICE)
    with pytest.raises(Conflict, match="team 'web' already exists"):
        await teams.create_team(services, BOB, "web")
    assert await services.store.get_role("web", "bob") is None


@pytest.mark.parametrize("name", ["Web", "a b", "-web", "", "x" * 65])
async def test_a_team_name_breaking_the_grammar_is_invalid(services: Services, name: str) -> None:
    with pytest.raises(Invalid, match="not a valid team name"):
        await teams.create_team(services, ADMIN, name)
    assert await services.store.list_teams() == []


async def test_a_team_name_may_hold_a_double_underscore(services: Services) -> None:
    assert (await teams.create_team(services, ADMIN, "web__tools")).name == "web__tools"


async def test_a_team_and_its_owner_are_made_together_or_not_at_all(services: Services) -> None:
    await _users(services, "alice")
    store = services.store
    real: Callable[..., Awaitable[int]] = store.execute

    async def execute(sql: str, params: Mapping[str, Any] | None = None) -> int:
        if "INSERT INTO team_members" in sql:
            raise StoreUnavailable("injected failure at the membership")
        return await real(sql, params)

    store.execute = execute  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable):
        await teams.create_team(services, ALICE, "web")
    store.execute = real  # type: ignore[method-assign,assignment]
    assert await store.get_team("web") is None, "a team without its owner was left"
    await teams.create_team(services, ALICE, "web")
    assert await store.get_role("web", "alice") == "owner", "the name is free again"


# --- listing and reading ---------------------------------------------------------------------


async def test_non_admins_list_only_their_own_teams_and_admins_all(services: Services) -> None:
    await _team(services, "web", ALICE)
    await _team(services, "data", BOB)
    await _team(services, "ops", BOB)
    await teams.put_member(services, BOB, "ops", "alice", "viewer")
    assert await _names(services, ALICE) == ["ops", "web"]
    assert await _names(services, BOB) == ["data", "ops"]
    assert await _names(services, CAROL) == []
    assert await _names(services, ADMIN) == ["data", "ops", "web"]


async def test_a_filtered_team_list_pages_with_the_key_to_go_on_from(services: Services) -> None:
    await _users(services, "alice", "bob")
    for name in ("t1", "t2", "t3", "t4", "t5"):
        await teams.create_team(services, ALICE if name in ("t1", "t3", "t5") else BOB, name)
    first, after = await teams.list_teams(services, ALICE, "", 2)
    assert [t.name for t in first] == ["t1", "t3"] and after == "t3"
    rest, end = await teams.list_teams(services, ALICE, after, 2)
    assert [t.name for t in rest] == ["t5"] and end is None


async def test_members_and_admins_read_a_team_and_to_others_it_is_not_there(services: Services) -> None:
    """A non-member gets what a name never used gets, whatever they ask: team names cannot be probed."""
    await _team(services, "web", ALICE)
    await _users(services, "bob", "carol")
    await teams.put_member(services, ALICE, "web", "bob", "viewer")
    for actor in (ALICE, BOB, ADMIN):
        assert (await teams.get_team(services, actor, "web")).name == "web"
    for name in ("web", "wex"):
        asks = (
            teams.get_team(services, CAROL, name), teams.list_members(services, CAROL, name, "", 100),
            teams.team_rights(services, CAROL, name), teams.check_delete_team(services, CAROL, name),
            teams.delete_team(services, CAROL, name), teams.put_member(services, CAROL, name, "carol", "owner"),
            teams.remove_member(services, CAROL, name, "carol"), teams.remove_member(services, CAROL, name, "bob"),
        )
        for ask in asks:
            with pytest.raises(NotFound, match=f"^no such team '{name}'$"):
                await ask
    assert [m.username for m in await services.store.list_members("web")] == ["alice", "bob"]


async def test_a_missing_team_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound, match="no such team 'nope'"):
        await teams.get_team(services, ADMIN, "nope")
    with pytest.raises(NotFound, match="no such team 'nope'"):
        await teams.delete_team(services, ADMIN, "nope")
    with pytest.raises(NotFound, match="no such team 'nope'"):
        await teams.list_members(services, ADMIN, "nope", "", 100)


# --- deleting --------------------------------------------------------------------------------


async def test_owners_and_admins_delete_a_team_and_others_may_not(services: Services) -> None:
    await _team(services, "web", ALICE)
    await _team(services, "data", ALICE)
    await _users(services, "bob")
    await teams.put_member(services, ALICE, "web", "bob", "contributor")
    with pytest.raises(Forbidden, match="only owners of team 'web' and admins may delete this team"):
        await teams.delete_team(services, BOB, "web")
    await teams.delete_team(services, ALICE, "web")
    await teams.delete_team(services, ADMIN, "data")
    assert await services.store.list_teams() == []
    assert await services.store.get_role("web", "bob") is None, "memberships go with the team"


async def test_the_deletion_check_refuses_as_the_deletion_does_and_deletes_nothing(services: Services) -> None:
    await _team(services, "web", ALICE)
    await _users(services, "bob")
    await teams.put_member(services, ALICE, "web", "bob", "contributor")
    with pytest.raises(Forbidden, match="only owners of team 'web' and admins may delete this team"):
        await teams.check_delete_team(services, BOB, "web")
    with pytest.raises(NotFound, match="no such team 'nope'"):
        await teams.check_delete_team(services, ADMIN, "nope")
    assert (await teams.check_delete_team(services, ALICE, "web")).name == "web"
    assert (await teams.check_delete_team(services, ADMIN, "web")).name == "web"
    assert await services.store.get_role("web", "bob") == "contributor"


async def test_the_teams_one_may_manage_are_those_one_owns_and_for_admins_all(services: Services) -> None:
    await _team(services, "web", ALICE)
    await _team(services, "data", BOB)
    await _team(services, "ops", BOB)
    await teams.put_member(services, BOB, "data", "alice", "contributor")
    await teams.put_member(services, BOB, "ops", "alice", "owner")
    managed, more = await teams.manageable_teams(services, ALICE, 100)
    assert ([t.name for t in managed], more) == (["ops", "web"], None)
    managed, more = await teams.manageable_teams(services, ADMIN, 2)
    assert ([t.name for t in managed], more) == (["data", "ops"], "ops")


async def test_the_teams_one_may_manage_are_found_among_ones_own_whatever_the_store_holds(services: Services) -> None:
    for k in range(30):
        await _team(services, f"other{k:02d}", BOB)
    await _team(services, "web", ALICE)
    await teams.put_member(services, BOB, "other07", "alice", "owner")
    await teams.put_member(services, BOB, "other08", "alice", "viewer")
    with counted(services.store) as statements:
        managed, more = await teams.manageable_teams(services, ALICE, 100)
    assert ([t.name for t in managed], more) == (["other07", "web"], None)
    assert len(statements) == 2  # her teams, and her roles in them: none per team in the store


# --- members ---------------------------------------------------------------------------------


async def test_putting_a_member_says_whether_it_added_or_changed_a_role(services: Services) -> None:
    await _team(services, "web", ALICE)
    await _users(services, "bob")
    assert await teams.put_member(services, ALICE, "web", "bob", "viewer") is True
    assert await teams.put_member(services, ALICE, "web", "bob", "contributor") is False
    members, after = await teams.list_members(services, BOB, "web", "", 100)
    assert [(m.username, m.role) for m in members] == [("alice", "owner"), ("bob", "contributor")] and after is None


async def test_only_owners_and_admins_put_members(services: Services) -> None:
    await _team(services, "web", ALICE)
    await _users(services, "bob", "carol")
    await teams.put_member(services, ALICE, "web", "bob", "contributor")
    with pytest.raises(Forbidden, match="only owners of team 'web' and admins may add or change members"):
        await teams.put_member(services, BOB, "web", "carol", "viewer")
    assert await teams.put_member(services, ADMIN, "web", "carol", "viewer") is True


async def test_putting_an_unknown_user_is_not_found_and_a_bad_role_invalid(services: Services) -> None:
    await _team(services, "web", ALICE)
    with pytest.raises(NotFound, match="no such user 'ghost'"):
        await teams.put_member(services, ALICE, "web", "ghost", "viewer")
    with pytest.raises(Invalid, match="role must be one of owner, contributor, viewer"):
        await teams.put_member(services, ALICE, "web", "alice", "boss")
    with pytest.raises(Invalid, match="not a valid user name"):
        await teams.put_member(services, ALICE, "web", "Bad Name", "viewer")
    assert [m.username for m in await services.store.list_members("web")] == ["alice"]


async def test_owners_remove_members_and_any_member_may_leave(services: Services) -> None:
    await _team(services, "web", ALICE)
    await _users(services, "bob", "carol")
    await teams.put_member(services, ALICE, "web", "bob", "viewer")
    await teams.put_member(services, ALICE, "web", "carol", "viewer")
    with pytest.raises(Forbidden, match="only owners of team 'web' and admins may remove members"):
        await teams.remove_member(services, BOB, "web", "carol")
    await teams.remove_member(services, BOB, "web", "bob")
    await teams.remove_member(services, ALICE, "web", "carol")
    assert [m.username for m in await services.store.list_members("web")] == ["alice"]
    with pytest.raises(NotFound, match="'carol' is not a member of team 'web'"):
        await teams.remove_member(services, ADMIN, "web", "carol")
