"""/api/v1/namespaces: team namespaces managed by team owners; personal namespaces by their user."""

from __future__ import annotations

from tests.integration.api.conftest import Api, team_space, unique
from tests.support.client import USERS


async def test_team_owner_creates_reads_updates_and_deletes_a_namespace(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    as_owner = admin.as_(owner)
    name = team_space("ns")
    created = await as_owner.ok("POST", "/namespaces", {"name": name, "team": team, "visibility": "protected"}, 201)
    assert created["name"] == name and created["team"] == team and created["visibility"] == "protected"
    assert set(created) == {"name", "team", "visibility", "created_at", "immutable_tags", "quota", "usage"}
    assert created["immutable_tags"] == []
    assert await as_owner.ok("GET", f"/namespaces/{name}") == created
    updated = await as_owner.ok("PATCH", f"/namespaces/{name}", {"visibility": "public"})
    assert updated["visibility"] == "public" and updated["team"] == team
    await as_owner.ok("DELETE", f"/namespaces/{name}", expected=204)
    assert (await as_owner.get(f"/namespaces/{name}")).status == 404


async def test_visibility_defaults_to_private(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    created = await admin.as_(owner).ok("POST", "/namespaces", {"name": team_space("ns"), "team": team}, 201)
    assert created["visibility"] == "private"


async def test_only_owners_of_the_team_or_admins_create_and_change(admin: Api) -> None:
    owner, contributor = await admin.new_user(), await admin.new_user()
    team = await admin.new_team(owner)
    await admin.as_(owner).ok("PUT", f"/teams/{team}/members/{contributor}", {"role": "contributor"}, 201)
    as_contributor = admin.as_(contributor)
    reply = await as_contributor.post("/namespaces", {"name": team_space("ns"), "team": team})
    assert reply.status == 403
    name = team_space("ns")
    await admin.ok("POST", "/namespaces", {"name": name, "team": team}, 201)
    assert (await as_contributor.patch(f"/namespaces/{name}", {"visibility": "public"})).status == 403
    assert (await as_contributor.delete(f"/namespaces/{name}")).status == 403
    assert (await as_contributor.get(f"/namespaces/{name}")).status == 200


async def test_moving_a_namespace_needs_ownership_of_the_new_team(admin: Api) -> None:
    owner, other = await admin.new_user(), await admin.new_user()
    team, other_team = await admin.new_team(owner), await admin.new_team(other)
    name = team_space("ns")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": name, "team": team}, 201)
    assert (await admin.as_(owner).patch(f"/namespaces/{name}", {"team": other_team})).status == 404  # not theirs to read
    await admin.as_(other).ok("PUT", f"/teams/{other_team}/members/{owner}", {"role": "contributor"}, 201)
    assert (await admin.as_(owner).patch(f"/namespaces/{name}", {"team": other_team})).status == 403
    mine = await admin.new_team(owner)
    assert (await admin.as_(owner).ok("PATCH", f"/namespaces/{name}", {"team": mine}))["team"] == mine
    assert (await admin.as_(owner).patch(f"/namespaces/{name}", {"team": unique("nope")})).status == 404


async def test_duplicates_and_user_names_are_409(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    name = team_space("ns")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": name, "team": team}, 201)
    again = await admin.as_(owner).post("/namespaces", {"name": name, "team": team})
    assert again.status == 409 and again.error_code == "conflict"
    personal = await admin.as_(owner).post("/namespaces", {"name": owner, "team": team})
    assert personal.status == 409 and "personal" in personal.message


async def test_unknown_team_or_namespace_is_404(admin: Api) -> None:
    missing = unique("nope")
    assert (await admin.post("/namespaces", {"name": team_space("ns"), "team": missing})).status == 404
    for method, body in (("GET", None), ("PATCH", {"visibility": "public"}), ("DELETE", None)):
        reply = await admin.call(method, f"/namespaces/{missing}", body)
        assert reply.status == 404 and reply.error_code == "not_found", (method, reply)


async def test_bad_namespace_input_is_400(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    name = team_space("ns")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": name, "team": team}, 201)
    for body in (
        {"name": team_space("ns"), "team": team, "visibility": "secret"},
        {"name": "two/parts", "team": team},
        {"name": "Upper", "team": team},
        {"name": team_space("ns"), "team": "Bad Team"},
        {"name": team_space("ns")},
        {"name": team_space("ns"), "team": team, "visibility": True},
        {"name": team_space("ns"), "team": team, "colour": "blue"},
    ):
        reply = await admin.as_(owner).post("/namespaces", body)
        assert reply.status == 400 and reply.error_code == "bad_request", (body, reply)
    for patch in ({}, {"visibility": "hidden"}, {"visibility": None}, {"team": 5}, {"owner": owner}):
        reply = await admin.as_(owner).patch(f"/namespaces/{name}", patch)
        assert reply.status == 400, (patch, reply)
    assert (await admin.get("/namespaces/a..b")).status == 400


async def test_user_changes_visibility_of_their_personal_namespace(admin: Api) -> None:
    user = await admin.new_user()
    me = admin.as_(user)
    initial = await me.ok("GET", f"/namespaces/{user}")
    assert initial["visibility"] == "private" and initial["team"] is None
    assert (await admin.as_("alice", USERS["alice"]).get(f"/namespaces/{user}")).status == 404, "hidden reads as missing"
    changed = await me.ok("PATCH", f"/namespaces/{user}", {"visibility": "public"})
    assert changed == {**changed, "name": user, "team": None, "visibility": "public"}
    assert (await me.ok("PATCH", f"/namespaces/{user}", {"visibility": "protected"}))["visibility"] == "protected"
    assert (await admin.as_("alice", USERS["alice"]).get(f"/namespaces/{user}")).status == 200
    # others may not change it, nor hand it to a team
    assert (await admin.as_("alice", USERS["alice"]).patch(f"/namespaces/{user}", {"visibility": "private"})).status == 403
    team = await admin.new_team(user)
    assert (await me.patch(f"/namespaces/{user}", {"team": team})).status == 409


async def test_personal_visibility_reaches_the_token_endpoint(admin: Api) -> None:
    """A personal namespace made public through the API lets anonymous callers pull from it."""
    user = await admin.new_user()
    gateway = admin.gateway
    params = {"service": gateway.host, "scope": f"repository:{user}/app:pull"}

    async def anonymous_scope() -> str:
        async with admin.session.get(f"{gateway.url}/v2/token", params=params) as response:
            assert response.status == 200
            return str((await response.json())["scope"])

    assert await anonymous_scope() == ""
    await admin.as_(user).ok("PATCH", f"/namespaces/{user}", {"visibility": "public"})
    assert await anonymous_scope() == f"repository:{user}/app:pull"


async def test_namespace_list_shows_what_the_caller_may_see(admin: Api) -> None:
    owner, outsider = await admin.new_user(), await admin.new_user()
    team = await admin.new_team(owner)
    made = {}
    for visibility in ("public", "protected", "private"):
        name = team_space(f"ns{visibility}")
        await admin.as_(owner).ok("POST", "/namespaces", {"name": name, "team": team, "visibility": visibility}, 201)
        made[visibility] = name
    seen_by_owner = {n["name"] for n in (await admin.as_(owner).collect("/namespaces", 1000))[0]}
    seen_by_outsider = {n["name"] for n in (await admin.as_(outsider).collect("/namespaces", 3))[0]}
    seen_by_admin = {n["name"] for n in (await admin.collect("/namespaces", 1000))[0]}
    assert set(made.values()) <= seen_by_owner
    assert set(made.values()) <= seen_by_admin
    assert made["public"] in seen_by_outsider and made["protected"] in seen_by_outsider
    assert made["private"] not in seen_by_outsider
    assert (await admin.as_(outsider).get(f"/namespaces/{made['private']}")).status == 404, "hidden reads as missing"


async def test_deleting_a_team_leaves_its_namespaces_to_admins(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    name = team_space("ns")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": name, "team": team}, 201)
    await admin.as_(owner).ok("DELETE", f"/teams/{team}", expected=204)
    assert (await admin.ok("GET", f"/namespaces/{name}"))["team"] is None
    assert (await admin.as_(owner).patch(f"/namespaces/{name}", {"visibility": "public"})).status == 404, "no longer theirs to see"
    assert (await admin.ok("PATCH", f"/namespaces/{name}", {"visibility": "public"}))["visibility"] == "public"
    await admin.ok("DELETE", f"/namespaces/{name}", expected=204)


async def test_a_hidden_namespace_answers_exactly_as_a_missing_one(admin: Api) -> None:
    owner, outsider = await admin.new_user(), await admin.new_user()
    team = await admin.new_team(owner)
    hidden = team_space("nshidden")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": hidden, "team": team, "visibility": "private"}, 201)
    missing = team_space("nsmissing")
    secret = (await admin.as_(outsider).ok("POST", f"/users/{outsider}/tokens", {"name": "read"}, 201))["secret"]
    for caller in (admin.as_(outsider), admin.as_(outsider, secret)):
        for method, body in (("GET", None), ("PATCH", {"visibility": "public"}), ("DELETE", None)):
            answers = []
            for name in (hidden, missing):
                reply = await caller.call(method, f"/namespaces/{name}", *(() if body is None else (body,)))
                answers.append((reply.status, reply.error_code, reply.message.replace(name, "NAME")))
            assert answers[0] == answers[1], (method, answers)
            assert answers[0][0] == (404 if method == "GET" or caller.auth[1] != secret else 403), (method, answers)
    assert (await admin.as_(owner).ok("GET", f"/namespaces/{hidden}"))["visibility"] == "private"
