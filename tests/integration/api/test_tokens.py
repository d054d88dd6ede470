"""/api/v1/users/{user}/tokens: application tokens shown once, usable as passwords, revoked at once."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.integration.api.conftest import Api, unique


async def token_for(api: Api, user: str, password: str, *scopes: str) -> tuple[int, dict[str, Any]]:
    gateway = api.gateway
    params = [("service", gateway.host), *(("scope", s) for s in scopes)]
    headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
    async with api.session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
        return response.status, dict(await response.json())


async def test_secret_is_shown_once_and_works_as_a_password(admin: Api) -> None:
    user = await admin.new_user()
    me = admin.as_(user)
    created = await me.ok("POST", f"/users/{user}/tokens", {"name": "ci", "actions": ["pull", "push"], "expires_in": "30d"}, 201)
    secret = created["secret"]
    assert secret.startswith("pgat_") and created["name"] == "ci" and created["actions"] == ["pull", "push"]
    assert created["expires_at"] is not None and created["namespaces"] == []
    listed = await me.ok("GET", f"/users/{user}/tokens")
    assert [t["name"] for t in listed["items"]] == ["ci"] and listed["next"] is None
    assert "secret" not in listed["items"][0] and secret not in str(listed) and "hash" not in str(listed)
    assert listed["items"][0] == {k: v for k, v in created.items() if k != "secret"}

    status, body = await token_for(admin, user, secret, f"repository:{user}/app:pull,push,delete")
    assert status == 200, body
    assert body["scope"] == f"repository:{user}/app:pull,push"


async def test_defaults_to_pull_only_and_narrows_to_namespaces(admin: Api) -> None:
    user = await admin.new_user()
    created = await admin.as_(user).ok("POST", f"/users/{user}/tokens", {"name": "reader", "namespaces": [user]}, 201)
    assert created["actions"] == ["pull"] and created["namespaces"] == [user] and created["expires_at"] is None
    _, body = await token_for(admin, user, created["secret"], f"repository:{user}/app:pull,push")
    assert body["scope"] == f"repository:{user}/app:pull"


async def test_admin_creates_and_revokes_for_another_user(admin: Api) -> None:
    user = await admin.new_user()
    created = await admin.ok("POST", f"/users/{user}/tokens", {"name": "robot"}, 201)
    assert [t["name"] for t in (await admin.ok("GET", f"/users/{user}/tokens"))["items"]] == ["robot"]
    await admin.ok("DELETE", f"/users/{user}/tokens/robot", expected=204)
    assert (await admin.ok("GET", f"/users/{user}/tokens"))["items"] == []
    status, _ = await token_for(admin, user, created["secret"], f"repository:{user}/app:pull")
    assert status == 401


async def test_revoked_token_stops_working_on_the_very_next_request(hourly_refresh_admin: Api) -> None:
    admin = hourly_refresh_admin
    user = await admin.new_user()
    me = admin.as_(user)
    secret = (await me.ok("POST", f"/users/{user}/tokens", {"name": "deploy"}, 201))["secret"]
    status, body = await token_for(admin, user, secret, f"repository:{user}/app:pull")
    assert status == 200
    bearer = {"Authorization": f"Bearer {body['token']}"}
    url = f"{admin.gateway.url}/v2/{user}/app/tags/list"
    async with admin.session.get(url, headers=bearer) as response:
        assert response.status == 404, "authorized: the registry answers that the repository is empty"

    await me.ok("DELETE", f"/users/{user}/tokens/deploy", expected=204)
    async with admin.session.get(url, headers=bearer) as response:
        assert response.status == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert (await admin.as_(user, secret).get(f"/users/{user}")).status == 401


async def test_application_tokens_only_read_their_own_user(admin: Api) -> None:
    user, other = await admin.new_user(), await admin.new_user()
    secret = (await admin.as_(user).ok("POST", f"/users/{user}/tokens", {"name": "ci"}, 201))["secret"]
    via_token = admin.as_(user, secret)
    assert (await via_token.get(f"/users/{user}")).status == 200
    assert (await via_token.get(f"/users/{user}/tokens")).status == 200
    assert (await via_token.get("/teams")).status == 200
    refused = [
        await via_token.post(f"/users/{user}/tokens", {"name": "another"}),
        await via_token.delete(f"/users/{user}/tokens/ci"),
        await via_token.patch(f"/users/{user}", {"password": "changed-password"}),
        await via_token.post("/teams", {"name": unique("t")}),
        await via_token.get(f"/users/{other}"),
        await via_token.get(f"/users/{other}/tokens"),
    ]
    for reply in refused:
        assert reply.status == 403 and "application tokens" in reply.message, reply


async def test_an_admins_application_token_has_no_admin_powers_in_the_api(admin: Api) -> None:
    boss = await admin.new_user(admin=True)
    secret = (await admin.as_(boss).ok("POST", f"/users/{boss}/tokens", {"name": "ci"}, 201))["secret"]
    reply = await admin.as_(boss, secret).get("/users")
    assert reply.status == 403 and "application tokens" in reply.message
    assert (await admin.as_(boss, secret).get("/users/alice")).status == 403


async def test_others_may_not_manage_a_users_tokens(admin: Api) -> None:
    user, other = await admin.new_user(), await admin.new_user()
    await admin.as_(user).ok("POST", f"/users/{user}/tokens", {"name": "ci"}, 201)
    as_other = admin.as_(other)
    assert (await as_other.get(f"/users/{user}/tokens")).status == 403
    assert (await as_other.post(f"/users/{user}/tokens", {"name": "x"})).status == 403
    assert (await as_other.delete(f"/users/{user}/tokens/ci")).status == 403


async def test_token_errors(admin: Api) -> None:
    user = await admin.new_user()
    me = admin.as_(user)
    await me.ok("POST", f"/users/{user}/tokens", {"name": "ci"}, 201)
    duplicate = await me.post(f"/users/{user}/tokens", {"name": "ci"})
    assert duplicate.status == 409 and duplicate.error_code == "conflict"
    assert (await me.delete(f"/users/{user}/tokens/nothere")).status == 404
    missing = unique("nobody")
    assert (await admin.get(f"/users/{missing}/tokens")).status == 404
    assert (await admin.post(f"/users/{missing}/tokens", {"name": "ci"})).status == 404
    for body in (
        {"name": "has space"},
        {"name": ""},
        {},
        {"name": "x", "actions": ["pull", "fly"]},
        {"name": "x", "actions": []},
        {"name": "x", "actions": "pull"},
        {"name": "x", "namespaces": ["a/b"]},
        {"name": "x", "namespaces": "ns"},
        {"name": "x", "expires_in": "soon"},
        {"name": "x", "expires_in": "999999w"},
        {"name": "x", "expires_in": 30},
        {"name": "x", "secret": "mine"},
    ):
        reply = await me.post(f"/users/{user}/tokens", body)
        assert reply.status == 400 and reply.error_code == "bad_request", (body, reply)
    assert (await me.delete(f"/users/{user}/tokens/bad%20name")).status == 400


async def test_token_list_pages(admin: Api) -> None:
    user = await admin.new_user()
    names = [f"tok{i}" for i in range(5)]
    for name in names:
        await admin.ok("POST", f"/users/{user}/tokens", {"name": name}, 201)
    listed, pages = await admin.collect(f"/users/{user}/tokens", 2)
    assert [t["name"] for t in listed] == names and pages == 3
