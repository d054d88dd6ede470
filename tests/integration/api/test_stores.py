"""The API's queries on both stores: one walk through every resource, on SQLite and on MariaDB."""

from __future__ import annotations

from tests.integration.api.conftest import Api, team_space, unique


async def test_walk_through_every_resource(store_admin: Api) -> None:
    admin = store_admin
    owner = await admin.new_user("owner")
    viewer = await admin.new_user("viewer")
    users, pages = await admin.collect("/users", 2)
    assert [u["name"] for u in users] == sorted(["admin", "alice", "bob", owner, viewer]) and pages == 3

    teams = sorted([await admin.new_team(owner) for _ in range(3)])
    assert [t["name"] for t in (await admin.as_(owner).collect("/teams", 2))[0]] == teams
    team = teams[0]
    assert (await admin.as_(owner).put(f"/teams/{team}/members/{viewer}", {"role": "viewer"})).status == 201
    assert (await admin.as_(owner).put(f"/teams/{team}/members/{viewer}", {"role": "contributor"})).status == 200
    members, _ = await admin.as_(viewer).collect(f"/teams/{team}/members", 1)
    assert members == sorted([{"user": owner, "role": "owner", "managed_by": None}, {"user": viewer, "role": "contributor", "managed_by": None}], key=lambda m: m["user"])
    assert (await admin.as_(owner).post("/teams", {"name": team})).status == 409

    spaces = sorted(team_space("ns") for _ in range(3))
    for name in spaces:
        await admin.as_(owner).ok("POST", "/namespaces", {"name": name, "team": team, "visibility": "private"}, 201)
    assert (await admin.as_(owner).post("/namespaces", {"name": spaces[0], "team": team})).status == 409
    await admin.as_(owner).ok("PATCH", f"/namespaces/{spaces[1]}", {"visibility": "public"})
    await admin.as_(viewer).ok("PATCH", f"/namespaces/{viewer}", {"visibility": "protected"})
    seen, _ = await admin.as_(viewer).collect("/namespaces", 1)
    assert {n["name"] for n in seen} == {*spaces, viewer}
    outsider_view, _ = await admin.as_("alice", "alice-secret-pw").collect("/namespaces", 2)
    assert {n["name"] for n in outsider_view} == {spaces[1], viewer}

    created = await admin.as_(owner).ok("POST", f"/users/{owner}/tokens", {"name": "CI-Token", "actions": ["pull", "push"]}, 201)
    await admin.as_(owner).ok("POST", f"/users/{owner}/tokens", {"name": "b-token"}, 201)
    listed, _ = await admin.as_(owner, created["secret"]).collect(f"/users/{owner}/tokens", 1)
    assert sorted(t["name"] for t in listed) == ["CI-Token", "b-token"]
    await admin.as_(owner).ok("DELETE", f"/users/{owner}/tokens/CI-Token", expected=204)
    assert (await admin.as_(owner, created["secret"]).get(f"/users/{owner}")).status == 401

    await admin.ok("PATCH", f"/users/{viewer}", {"disabled": True})
    assert (await admin.as_(viewer).get(f"/users/{viewer}")).status == 401
    await admin.ok("DELETE", f"/teams/{team}", expected=204)
    assert (await admin.get(f"/namespaces/{spaces[0]}")).body["team"] is None
    await admin.ok("DELETE", f"/users/{owner}", expected=204)
    assert (await admin.get(f"/users/{owner}/tokens")).status == 404


async def test_the_same_patch_twice_finds_the_user_both_times(store_admin: Api) -> None:
    """MariaDB counted rows changed: a second identical PATCH within the second read as 404."""
    admin = store_admin
    bob = await admin.new_user("bob")
    for body in ({"disabled": True}, {"disabled": True}, {"admin": False}, {"admin": False}, {"disabled": False}, {"disabled": False}):
        reply = await admin.patch(f"/users/{bob}", body)
        assert reply.status == 200, (body, reply)
    assert (await admin.ok("GET", f"/users/{bob}"))["disabled"] is False


async def test_only_admins_create_a_namespace_a_future_user_could_need(store_admin: Api) -> None:
    """A user's name is their personal namespace: a team owner who is no admin may not take a name
    a user could have, and a user may not be created over a namespace that is not theirs."""
    admin = store_admin
    owner = await admin.new_user("owner")
    team = await admin.new_team(owner)
    future = unique("carol")
    refused = await admin.as_(owner).post("/namespaces", {"name": future, "team": team})
    assert refused.status == 403 and "only admins" in refused.message and "__" in refused.message
    assert (await admin.get(f"/namespaces/{future}")).status == 404, "nothing was created"
    carol = await admin.ok("POST", "/users", {"name": future, "password": "carol-password"}, 201)
    assert carol["name"] == future and (await admin.ok("GET", f"/namespaces/{future}"))["team"] is None

    for name in (team_space("web"), f"web__{unique('t')}", "w" * 65):
        created = await admin.as_(owner).ok("POST", "/namespaces", {"name": name, "team": team}, 201)
        assert created["team"] == team
    own = await admin.as_(owner).post("/namespaces", {"name": owner, "team": team})
    assert own.status == 409 and "personal" in own.message

    reserved = unique("dave")
    await admin.ok("POST", "/namespaces", {"name": reserved, "team": team}, 201)
    taken = await admin.post("/users", {"name": reserved, "password": "dave-password"})
    assert taken.status == 409 and f"a namespace named {reserved!r} exists" in taken.message
    assert (await admin.get(f"/users/{reserved}")).status == 404
