"""/api/v1/namespaces with quotas: every namespace shows its quota and usage; admins set and lift
quotas; nobody else does, and nonsense is a 400 that changes nothing."""

from __future__ import annotations

from tests.integration.api.conftest import Api, team_space


async def test_admins_set_and_lift_a_quota_and_everyone_who_sees_the_namespace_sees_it(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    name = team_space("quota")
    created = await admin.as_(owner).ok("POST", "/namespaces", {"name": name, "team": team}, 201)
    assert created["quota"] is None and created["usage"] == 0
    assert (await admin.ok("PATCH", f"/namespaces/{name}", {"quota": "10GiB"}))["quota"] == 10 * 2**30
    both = await admin.ok("PATCH", f"/namespaces/{name}", {"quota": 5000, "visibility": "public"})
    assert both["quota"] == 5000 and both["visibility"] == "public"
    assert (await admin.as_(owner).ok("GET", f"/namespaces/{name}"))["quota"] == 5000
    listed, _ = await admin.as_(owner).collect("/namespaces", 100)
    assert [(n["quota"], n["usage"]) for n in listed if n["name"] == name] == [(5000, 0)]
    assert (await admin.ok("PATCH", f"/namespaces/{name}", {"quota": "none"}))["quota"] is None


async def test_a_team_owner_may_not_set_or_lift_their_own_quota(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    name = team_space("quota")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": name, "team": team}, 201)
    await admin.ok("PATCH", f"/namespaces/{name}", {"quota": "1MB"})
    for body in ({"quota": "none"}, {"quota": "1TB", "visibility": "public"}):
        reply = await admin.as_(owner).patch(f"/namespaces/{name}", body)
        assert reply.status == 403 and "only admins may set quotas" in reply.message
    after = await admin.ok("GET", f"/namespaces/{name}")
    assert after["quota"] == 10**6 and after["visibility"] == "private"
    assert (await admin.as_(owner).patch(f"/namespaces/{name}", {"quota": "nonsense"})).status == 400


async def test_nonsense_quotas_are_a_400_naming_the_field_and_change_nothing(admin: Api) -> None:
    owner = await admin.new_user()
    team = await admin.new_team(owner)
    name = team_space("quota")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": name, "team": team}, 201)
    for value in (None, -1, True, 1.5, [], "10 parsecs", "x" * 65, "99999999999PiB", "-5GB"):
        reply = await admin.patch(f"/namespaces/{name}", {"quota": value, "visibility": "public"})
        assert reply.status == 400 and ("quota" in reply.message or "not a size" in reply.message), (value, reply)
    after = await admin.ok("GET", f"/namespaces/{name}")
    assert after["quota"] is None and after["visibility"] == "private"
    assert (await admin.patch("/namespaces/nobody--there", {"quota": "1GB"})).status == 404
