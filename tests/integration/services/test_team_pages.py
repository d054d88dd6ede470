"""What the team page asks of the services, in-process on SQLite and MariaDB: a team's own
namespaces (private ones included) for its members and admins only, paged; and the actor's
place in a team (their role, whether they manage it)."""

from __future__ import annotations

import pytest

from gateway.auth.permissions import Actor
from gateway.services import namespaces, teams
from gateway.services.context import Services
from gateway.services.errors import NotFound
from tests.integration.services.conftest import ADMIN, ALICE, BOB

CAROL = Actor("carol")


@pytest.fixture
async def two_teams(services: Services) -> Services:
    """Team web (owner alice, viewer bob) with three namespaces, team ops (owner carol) with one."""
    for name in ("alice", "bob", "carol"):
        await services.store.create_user(name, "hash")
    await teams.create_team(services, ALICE, "web")
    await teams.put_member(services, ALICE, "web", "bob", "viewer")
    await teams.create_team(services, CAROL, "ops")
    for name, visibility in (("web__a", "private"), ("web__b", "public"), ("web__c", "protected")):
        await namespaces.create_namespace(services, ALICE, name, "web", visibility)
    await namespaces.create_namespace(services, CAROL, "ops__secret", "ops", "private")
    return services


async def test_a_teams_namespaces_are_listed_for_its_members_in_pages(two_teams: Services) -> None:
    first, next_after = await namespaces.list_team_namespaces(two_teams, BOB, "web", "", 2)
    assert [n.name for n in first] == ["web__a", "web__b"] and next_after == "web__b"
    rest, end = await namespaces.list_team_namespaces(two_teams, BOB, "web", next_after, 2)
    assert [(n.name, n.visibility) for n in rest] == [("web__c", "protected")] and end is None
    everything, _ = await namespaces.list_team_namespaces(two_teams, ADMIN, "ops", "", 10)
    assert [n.name for n in everything] == ["ops__secret"]


async def test_a_non_member_may_not_list_a_teams_namespaces(two_teams: Services) -> None:
    with pytest.raises(NotFound, match="no such team 'ops'"):
        await namespaces.list_team_namespaces(two_teams, ALICE, "ops", "", 10)
    with pytest.raises(NotFound, match="no such team 'nope'"):
        await namespaces.list_team_namespaces(two_teams, ALICE, "nope", "", 10)


async def test_team_rights_say_the_role_and_who_manages(two_teams: Services) -> None:
    assert await teams.team_rights(two_teams, ALICE, "web") == teams.TeamRights("owner", True)
    assert await teams.team_rights(two_teams, BOB, "web") == teams.TeamRights("viewer", False)
    assert await teams.team_rights(two_teams, ADMIN, "web") == teams.TeamRights(None, True)
    with pytest.raises(NotFound, match="no such team 'ops'"):
        await teams.team_rights(two_teams, BOB, "ops")
