"""/api/v1/teams and their members: founders own, owners manage, members read, others see nothing."""

from __future__ import annotations

from tests.integration.api.conftest import Api, unique


async def test_founder_owns_the_team_and_sees_it(admin: Api) -> None:
    founder = await admin.new_user()
    name = unique("t")
    team = await admin.as_(founder).ok("POST", "/teams", {"name": name}, 201)
    assert set(team) == {"name", "created_at"} and team["name"] == name
    assert await admin.as_(founder).ok("GET", f"/teams/{name}") == team
    members = await admin.as_(founder).ok("GET", f"/teams/{name}/members")
    assert members == {"items": [{"user": founder, "role": "owner", "managed_by": None}], "next": None}


async def test_duplicate_team_is_409(admin: Api) -> None:
    founder = await admin.new_user()
    team = await admin.new_team(founder)
    reply = await admin.as_(founder).post("/teams", {"name": team})
    assert reply.status == 409 and reply.error_code == "conflict"


async def test_team_list_shows_non_admins_only_their_teams(admin: Api) -> None:
    one, two = await admin.new_user(), await admin.new_user()
    mine = sorted([await admin.new_team(one) for _ in range(3)])
    theirs = await admin.new_team(two)
    listed, pages = await admin.as_(one).collect("/teams", 2)
    assert [t["name"] for t in listed] == mine and pages == 2
    everything, _ = await admin.collect("/teams", 1000)
    assert set(mine) | {theirs} <= {t["name"] for t in everything}
    assert (await admin.as_(one).get(f"/teams/{theirs}")).status == 404  # as a team never made: names cannot be probed
    assert (await admin.as_(one).get(f"/teams/{theirs}/members")).status == 404
    assert (await admin.get(f"/teams/{theirs}")).status == 200


async def test_owner_adds_changes_and_removes_members(admin: Api) -> None:
    owner, member = await admin.new_user(), await admin.new_user()
    team = await admin.new_team(owner)
    as_owner = admin.as_(owner)
    added = await as_owner.put(f"/teams/{team}/members/{member}", {"role": "viewer"})
    assert added.status == 201 and added.body == {"user": member, "role": "viewer", "managed_by": None}
    changed = await as_owner.put(f"/teams/{team}/members/{member}", {"role": "contributor"})
    assert changed.status == 200 and changed.body["role"] == "contributor"
    # a member reads the team but may not manage it
    as_member = admin.as_(member)
    assert (await as_member.get(f"/teams/{team}")).status == 200
    roles = {m["user"]: m["role"] for m in (await as_member.ok("GET", f"/teams/{team}/members"))["items"]}
    assert roles == {owner: "owner", member: "contributor"}
    await as_owner.ok("DELETE", f"/teams/{team}/members/{member}", expected=204)
    assert (await as_member.get(f"/teams/{team}")).status == 404
    assert (await as_owner.delete(f"/teams/{team}/members/{member}")).status == 404


async def test_non_owners_may_not_add_members_or_delete_the_team(admin: Api) -> None:
    owner, contributor, outsider = await admin.new_user(), await admin.new_user(), await admin.new_user()
    team = await admin.new_team(owner)
    await admin.as_(owner).ok("PUT", f"/teams/{team}/members/{contributor}", {"role": "contributor"}, 201)
    for who, status in ((contributor, 403), (outsider, 404)):  # the outsider may not even read it
        reply = await admin.as_(who).put(f"/teams/{team}/members/{outsider}", {"role": "owner"})
        assert reply.status == status and ("owners" if status == 403 else "no such team") in reply.message, reply
        assert (await admin.as_(who).delete(f"/teams/{team}")).status == status
        assert (await admin.as_(who).delete(f"/teams/{team}/members/{owner}")).status == status
    assert (await admin.put(f"/teams/{team}/members/{outsider}", {"role": "viewer"})).status == 201


async def test_a_member_may_leave(admin: Api) -> None:
    owner, member = await admin.new_user(), await admin.new_user()
    team = await admin.new_team(owner)
    await admin.as_(owner).ok("PUT", f"/teams/{team}/members/{member}", {"role": "viewer"}, 201)
    await admin.as_(member).ok("DELETE", f"/teams/{team}/members/{member}", expected=204)
    assert (await admin.as_(member).get(f"/teams/{team}")).status == 404


async def test_owner_deletes_team(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    await admin.as_(owner).ok("DELETE", f"/teams/{team}", expected=204)
    assert (await admin.get(f"/teams/{team}")).status == 404
    assert (await admin.delete(f"/teams/{team}")).status == 404


async def test_unknown_team_or_user_is_404(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    missing = unique("nope")
    for method, path, body in (
        ("GET", f"/teams/{missing}", None),
        ("DELETE", f"/teams/{missing}", None),
        ("GET", f"/teams/{missing}/members", None),
        ("PUT", f"/teams/{missing}/members/{owner}", {"role": "viewer"}),
        ("DELETE", f"/teams/{missing}/members/{owner}", None),
        ("PUT", f"/teams/{team}/members/{missing}", {"role": "viewer"}),
    ):
        reply = await admin.call(method, path, body)
        assert reply.status == 404 and reply.error_code == "not_found", (method, path, reply)


async def test_bad_team_input_is_400(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    for body in ({"name": "Bad Name"}, {"name": ""}, {}, {"name": ["x"]}, {"name": unique("t"), "owner": owner}):
        reply = await admin.as_(owner).post("/teams", body)
        assert reply.status == 400 and reply.error_code == "bad_request", (body, reply)
    for role_body in ({"role": "boss"}, {"role": None}, {}, {"role": "owner", "extra": 1}, {"role": 3}):
        reply = await admin.as_(owner).put(f"/teams/{team}/members/{owner}", role_body)
        assert reply.status == 400, (role_body, reply)
    assert (await admin.get("/teams/UPPER")).status == 400
