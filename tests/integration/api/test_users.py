"""/api/v1/users: admins manage accounts; users read and change themselves; disabling bites at once."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.integration.api.conftest import PASSWORD, Api, unique
from tests.support.client import USERS


async def test_admin_creates_reads_lists_and_deletes_a_user(admin: Api) -> None:
    name = unique("u")
    created = await admin.ok("POST", "/users", {"name": name, "password": PASSWORD}, 201)
    assert created["name"] == name and created["admin"] is False and created["disabled"] is False
    assert set(created) == {"name", "admin", "disabled", "source", "email", "created_at", "updated_at"}
    assert (created["source"], created["email"]) == ("local", None)
    assert created["created_at"].endswith("Z")
    assert (await admin.ok("GET", f"/users/{name}")) == created
    everyone, _ = await admin.collect("/users", 1000)
    assert name in [u["name"] for u in everyone]
    assert all("password" not in str(sorted(u)) and "hash" not in str(sorted(u)) for u in everyone)
    await admin.ok("DELETE", f"/users/{name}", expected=204)
    assert (await admin.get(f"/users/{name}")).status == 404


async def test_a_new_user_can_sign_in_and_read_themself(admin: Api) -> None:
    name = await admin.new_user()
    me = await admin.as_(name).ok("GET", f"/users/{name}")
    assert me["name"] == name


async def test_admin_may_create_an_admin(admin: Api) -> None:
    name = await admin.new_user(admin=True)
    listed = await admin.as_(name).ok("GET", "/users?limit=1")
    assert len(listed["items"]) == 1


async def test_duplicate_user_is_409(admin: Api) -> None:
    reply = await admin.post("/users", {"name": "alice", "password": PASSWORD})
    assert reply.status == 409 and reply.error_code == "conflict"


async def test_a_user_may_not_take_the_name_of_a_namespace(admin: Api) -> None:
    """Else the new user would own the namespace (a detached team namespace) as their personal one."""
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    name = unique("ns")
    await admin.ok("POST", "/namespaces", {"name": name, "team": team}, 201)  # only admins create a name a user could have
    reply = await admin.post("/users", {"name": name, "password": PASSWORD})
    assert reply.status == 409 and "namespace" in reply.message
    await admin.as_(owner).ok("DELETE", f"/teams/{team}", expected=204)
    reply = await admin.post("/users", {"name": name, "password": PASSWORD})
    assert reply.status == 409 and "namespace" in reply.message


async def test_non_admin_may_not_list_create_or_read_others(admin: Api) -> None:
    alice = admin.as_("alice", USERS["alice"])
    listing = await alice.get("/users")
    assert listing.status == 403 and listing.error_code == "forbidden" and "admins" in listing.message
    creating = await alice.post("/users", {"name": unique("u"), "password": PASSWORD})
    assert creating.status == 403
    assert (await alice.get("/users/bob")).status == 403
    assert (await alice.patch("/users/bob", {"password": "another-password"})).status == 403
    assert (await alice.delete("/users/bob")).status == 403
    assert (await alice.get("/users/alice")).status == 200


async def test_unknown_user_is_404(admin: Api) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        reply = await admin.call(method, f"/users/{unique('nobody')}", {} if method == "PATCH" else None)
        assert reply.status == 404 and reply.error_code == "not_found", (method, reply)


async def test_bad_user_input_is_400(admin: Api) -> None:
    bad_bodies = [
        {"name": "Upper", "password": PASSWORD},
        {"name": "a/b", "password": PASSWORD},
        {"name": "x" * 65, "password": PASSWORD},
        {"name": unique("u"), "password": "short"},
        {"name": unique("u"), "password": "pgat_looks_like_a_token"},
        {"name": unique("u")},
        {"password": PASSWORD},
        {"name": 7, "password": PASSWORD},
        {"name": unique("u"), "password": PASSWORD, "admin": "yes"},
        {"name": unique("u"), "password": PASSWORD, "admin": 1},
        {"name": unique("u"), "password": None},
        {"name": unique("u"), "password": PASSWORD, "role": "owner"},
        ["not", "an", "object"],
    ]
    for body in bad_bodies:
        reply = await admin.post("/users", body)
        assert reply.status == 400 and reply.error_code == "bad_request", (body, reply)
    assert (await admin.get("/users/Not_Valid")).status == 400


async def test_user_changes_own_password_but_not_flags(admin: Api) -> None:
    name = await admin.new_user()
    me = admin.as_(name)
    assert (await me.patch(f"/users/{name}", {"admin": True})).status == 403
    assert (await me.patch(f"/users/{name}", {"disabled": False})).status == 403
    await me.ok("PATCH", f"/users/{name}", {"password": "a-new-password"})
    assert (await me.get(f"/users/{name}")).status == 401
    assert (await admin.as_(name, "a-new-password").get(f"/users/{name}")).status == 200


async def test_admin_grants_and_drops_admin(admin: Api) -> None:
    name = await admin.new_user()
    assert (await admin.ok("PATCH", f"/users/{name}", {"admin": True}))["admin"] is True
    assert (await admin.as_(name).get("/users?limit=1")).status == 200
    assert (await admin.ok("PATCH", f"/users/{name}", {"admin": False}))["admin"] is False
    assert (await admin.as_(name).get("/users?limit=1")).status == 403


async def test_admin_may_not_demote_disable_or_delete_themself(admin: Api) -> None:
    name = await admin.new_user(admin=True)
    other_admin = admin.as_(name)
    for method, body in (("PATCH", {"admin": False}), ("PATCH", {"disabled": True}), ("DELETE", None)):
        reply = await other_admin.call(method, f"/users/{name}", body)
        assert reply.status == 403, (method, reply)
    await admin.ok("DELETE", f"/users/{name}", expected=204)


async def test_a_user_may_delete_themself(admin: Api) -> None:
    name = await admin.new_user()
    await admin.as_(name).ok("DELETE", f"/users/{name}", expected=204)
    assert (await admin.get(f"/users/{name}")).status == 404


async def test_a_deleted_users_namespace_settings_go_with_them(admin: Api) -> None:
    name = await admin.new_user()
    await admin.as_(name).ok("PATCH", f"/namespaces/{name}", {"visibility": "public"})
    await admin.ok("DELETE", f"/users/{name}", expected=204)
    assert (await admin.get(f"/namespaces/{name}")).status == 404
    await admin.ok("POST", "/users", {"name": name, "password": PASSWORD}, 201)
    assert (await admin.ok("GET", f"/namespaces/{name}"))["visibility"] == "private"


async def test_disabling_revokes_issued_tokens_at_once_and_enabling_restores(
    hourly_refresh_admin: Api, session: aiohttp.ClientSession
) -> None:
    admin = hourly_refresh_admin
    name = await admin.new_user()
    gateway = admin.gateway
    params = {"service": gateway.host, "scope": f"repository:{name}/app:pull", "offline_token": "true"}
    async with session.get(f"{gateway.url}/v2/token", params=params, headers={"Authorization": aiohttp.encode_basic_auth(name, PASSWORD)}) as r:
        assert r.status == 200
        issued = await r.json()
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    async with session.get(f"{gateway.url}/v2/", headers=bearer) as r:
        assert r.status == 200

    disabled = await admin.ok("PATCH", f"/users/{name}", {"disabled": True})
    assert disabled["disabled"] is True
    async with session.get(f"{gateway.url}/v2/", headers=bearer) as r:
        assert r.status == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"], "service": gateway.host}
    async with session.post(f"{gateway.url}/v2/token", data=refresh) as r:
        assert (r.status, (await r.json())["error"]) == (400, "invalid_grant")
    assert (await admin.as_(name).get(f"/users/{name}")).status == 401

    assert (await admin.ok("PATCH", f"/users/{name}", {"disabled": False}))["disabled"] is False
    assert (await admin.as_(name).get(f"/users/{name}")).status == 200
    async with session.post(f"{gateway.url}/v2/token", data=refresh) as r:
        assert (r.status, (await r.json())["error"]) == (400, "invalid_grant"), "refresh tokens stay revoked after re-enabling"


async def test_enabling_a_disabled_user_notes_that_refresh_tokens_stay_revoked(admin: Api) -> None:
    name = await admin.new_user()
    plain = await admin.ok("PATCH", f"/users/{name}", {"disabled": False})
    assert "note" not in plain, "nothing was disabled, so nothing stays revoked"
    disabled = await admin.ok("PATCH", f"/users/{name}", {"disabled": True})
    assert "note" not in disabled
    enabled = await admin.ok("PATCH", f"/users/{name}", {"disabled": False})
    assert enabled["disabled"] is False
    assert "refresh tokens revoked by the disable stay revoked" in enabled["note"]
    assert "note" not in await admin.ok("GET", f"/users/{name}")


async def test_users_page_with_next(admin: Api) -> None:
    names = sorted([await admin.new_user("pg") for _ in range(5)])
    first = await admin.ok("GET", f"/users?limit=2&after={names[0]}")
    assert [u["name"] for u in first["items"]] == names[1:3]
    assert first["next"] == names[2]
    everyone, pages = await admin.collect("/users", 2)
    listed = [u["name"] for u in everyone]
    assert listed == sorted(listed) and len(listed) == len(set(listed))
    assert set(names) <= set(listed) and pages >= 3


async def test_deleting_a_user_voids_their_tokens_but_not_a_later_namesake(hourly_refresh_admin: Api) -> None:
    admin = hourly_refresh_admin
    user = await admin.new_user()
    gateway = admin.gateway
    url = f"{gateway.url}/v2/{user}/app/tags/list"

    async def bearer_for(password: str) -> dict[str, str]:
        headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        params = {"service": gateway.host, "scope": f"repository:{user}/app:pull"}
        async with admin.session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
            assert response.status == 200
            return {"Authorization": f"Bearer {(await response.json())['token']}"}

    old = await bearer_for(PASSWORD)
    async with admin.session.get(url, headers=old) as response:
        assert response.status == 404, "authorized: the registry answers that the repository is empty"
    await admin.ok("DELETE", f"/users/{user}", expected=204)
    async with admin.session.get(url, headers=old) as response:
        assert response.status == 401, "a deleted user's token dies on the very next request"
    await asyncio.sleep(1.1)  # token times have one-second resolution
    await admin.ok("POST", "/users", {"name": user, "password": PASSWORD}, 201)
    fresh = await bearer_for(PASSWORD)
    async with admin.session.get(url, headers=fresh) as response:
        assert response.status == 404, "a new user of the same name is not haunted by the old one (authorized, empty)"
    async with admin.session.get(url, headers=old) as response:
        assert response.status == 401
