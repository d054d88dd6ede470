"""Deleted names cannot be claimed: a user or namespace deleted while repositories are in its
namespace leaves the name reserved (a tombstone) until an admin releases or purges it.

Against the real registry: the images are pushed and pulled through the gateway.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.integration.api.conftest import PASSWORD, Api, no_traceback_since, team_space
from tests.support.client import USERS, fetch_token
from tests.support.images import OCI_MANIFEST, push_image
from tests.support.processes import Gateway, Registry


async def token(
    api: Api, user: str | None, password: str | None, repository: str, actions: str = "pull", service: str = ""
) -> dict[str, Any]:
    gateway = api.gateway
    scope = f"repository:{repository}:{actions}"
    return await fetch_token(api.session, gateway.url, service or gateway.host, user, password, scope)


async def push_as(api: Api, user: str, repository: str, password: str = PASSWORD, service: str = "") -> str:
    """Push a small image as `user`; returns its manifest digest."""
    issued = await token(api, user, password, repository, "pull,push", service)
    headers = {"Authorization": f"Bearer {issued['token']}"}
    return await push_image(api.session, api.gateway.url, repository, "v1", headers, seed=repository)


async def get_manifest(api: Api, bearer: str, repository: str, reference: str) -> tuple[int, Any, str]:
    """Status, JSON body and WWW-Authenticate of a manifest GET with this token."""
    headers = {"Authorization": f"Bearer {bearer}", "Accept": OCI_MANIFEST}
    async with api.session.get(f"{api.gateway.url}/v2/{repository}/manifests/{reference}", headers=headers) as response:
        return response.status, await response.json(content_type=None), response.headers.get("WWW-Authenticate", "")


async def pull_as(api: Api, user: str | None, password: str | None, repository: str, reference: str) -> tuple[int, Any]:
    status, body, _ = await get_manifest(api, (await token(api, user, password, repository))["token"], repository, reference)
    return status, body


async def after_second_of(moment_text: str) -> None:
    """Wait until the second a reservation was made in is over (token times are whole seconds)."""
    from datetime import datetime

    moment = datetime.fromisoformat(moment_text).timestamp()
    while time.time() < moment + 1:  # a second at most
        await asyncio.sleep(0.05)


async def test_a_deleted_users_namespace_cannot_be_claimed_until_released(store_admin: Api) -> None:
    admin = store_admin
    owner = await admin.new_user("bob")
    digest = await push_as(admin, owner, f"{owner}/secret")
    mallory = await admin.new_user("mallory")
    team = await admin.new_team(mallory)

    deleted = await admin.call("DELETE", f"/users/{owner}")
    claim = await admin.as_(mallory).post("/namespaces", {"name": owner, "team": team})
    assert claim.status == 403 and "only admins" in claim.message, claim  # a user's name: says nothing of it
    claim = await admin.post("/namespaces", {"name": owner, "team": team})
    assert claim.status == 409 and "reserved" in claim.message and f"/tombstones/{owner}" in claim.message, claim
    namesake = await admin.post("/users", {"name": owner, "password": PASSWORD})
    assert namesake.status == 409 and "reserved" in namesake.message, namesake
    status, body = await pull_as(admin, mallory, PASSWORD, f"{owner}/secret", digest)
    assert status == 404 and body["errors"][0]["code"] == "NAME_UNKNOWN", body  # refused, told what a missing name gets
    assert "does not exist or is not yours" in body["errors"][0]["message"] and "reserved" not in str(body), body

    assert deleted.status == 200, deleted
    reserved = deleted.body["reserved"]
    assert reserved["namespace"] == owner and reserved["repositories"] == 1
    assert reserved["former_owner"] == {"kind": "user", "name": owner} and reserved["deleted_by"] == "admin"
    assert "stays reserved" in deleted.body["message"] and f"/tombstones/{owner}/release" in reserved["release"]

    listed, _ = await admin.collect("/tombstones", 1)
    assert [t["namespace"] for t in listed] == [owner] and listed[0] == {**reserved}
    assert (await admin.get(f"/tombstones/{owner}")).body == reserved
    assert (await admin.as_(mallory).get("/tombstones")).status == 403
    assert (await admin.as_(mallory).post(f"/tombstones/{owner}/release", {})).status == 403

    released = await admin.ok("POST", f"/tombstones/{owner}/release")
    assert "whoever takes the name" in released["message"] and released["released"]["repositories"] == 1
    assert (await admin.get(f"/tombstones/{owner}")).status == 404
    assert (await admin.call("POST", f"/tombstones/{owner}/release")).status == 404
    await admin.ok("POST", "/namespaces", {"name": owner, "team": team}, 201)  # a user's name: admins only
    await after_second_of(reserved["deleted_at"])  # tokens of that second stay void there
    assert (await pull_as(admin, mallory, PASSWORD, f"{owner}/secret", digest))[0] == 200, "the release said so"


async def test_a_token_issued_before_a_namespace_deletion_is_void_there(hourly_refresh_admin: Api) -> None:
    """A grant decided for the former owner's namespace must not outlive it, released or not;
    this gateway re-reads the store hourly, so the API's deletion itself must have said so."""
    admin = hourly_refresh_admin
    owner = await admin.new_user("owner")
    team = await admin.new_team(owner)
    namespace = team_space("shared")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": namespace, "team": team, "visibility": "protected"}, 201)
    digest = await push_as(admin, owner, f"{namespace}/app")
    viewer = await admin.new_user("viewer")
    old = (await token(admin, viewer, PASSWORD, f"{namespace}/app"))["token"]
    assert (await get_manifest(admin, old, f"{namespace}/app", digest))[0] == 200

    deleted = await admin.as_(owner).call("DELETE", f"/namespaces/{namespace}")
    status, _, challenge = await get_manifest(admin, old, f"{namespace}/app", digest)
    assert status == 401 and 'error="invalid_token"' in challenge
    assert deleted.status == 200 and deleted.body["reserved"]["former_owner"] == {"kind": "team", "name": team}
    assert (await pull_as(admin, viewer, PASSWORD, f"{namespace}/app", digest))[0] == 403

    await admin.ok("POST", f"/tombstones/{namespace}/release")
    assert (await get_manifest(admin, old, f"{namespace}/app", digest))[0] == 401, "still void after the release"


async def test_admins_may_pull_to_inspect_but_nobody_pushes(admin: Api) -> None:
    owner = await admin.new_user("bob")
    repository = f"{owner}/app"
    digest = await push_as(admin, owner, repository)
    before = (await token(admin, *Gateway.ADMIN, repository, "pull,push"))["token"]
    deleted = await admin.ok("DELETE", f"/users/{owner}")
    assert (await get_manifest(admin, before, repository, digest))[0] == 401
    await after_second_of(deleted["reserved"]["deleted_at"])

    issued = await token(admin, *Gateway.ADMIN, repository, "pull,push")
    assert issued["scope"] == f"repository:{repository}:pull"
    status, body, _ = await get_manifest(admin, issued["token"], repository, digest)
    assert status == 200 and body["mediaType"] == OCI_MANIFEST
    async with admin.session.post(
        f"{admin.gateway.url}/v2/{repository}/blobs/uploads/", headers={"Authorization": f"Bearer {issued['token']}"}
    ) as response:
        refused = await response.json()
        assert response.status == 403 and refused["errors"][0]["code"] == "DENIED"
        assert "reserved" in refused["errors"][0]["message"]
    await admin.ok("POST", f"/tombstones/{owner}/release")


async def test_events_of_a_reserved_namespace_are_for_admins_only(admin: Api) -> None:
    owner = await admin.new_user("bob")
    await admin.as_(owner).ok("PATCH", f"/namespaces/{owner}", {"visibility": "protected"})
    await push_as(admin, owner, f"{owner}/app")
    alice = admin.as_("alice", USERS["alice"])
    seen = await alice.ok("GET", f"/events?repository={owner}/app")
    assert [e["action"] for e in seen["items"]] == ["push"]
    await admin.ok("DELETE", f"/users/{owner}")
    assert (await alice.ok("GET", f"/events?repository={owner}/app"))["items"] == []
    assert [e["action"] for e in (await admin.ok("GET", f"/events?repository={owner}/app"))["items"]] == ["push"]
    assert f"{owner}/app" not in [r["name"] for r in (await alice.collect("/repositories", 1000))[0]]
    await admin.ok("POST", f"/tombstones/{owner}/release")


async def test_a_push_does_not_auto_create_a_reserved_namespace(
    make_gateway: Callable[..., Gateway], session: aiohttp.ClientSession
) -> None:
    gateway = make_gateway({"GATEWAY_NAMESPACES_AUTO_CREATE": "true"})
    admin = Api(session, gateway, Gateway.ADMIN)
    owner = await admin.new_user("owner")
    team = await admin.new_team(owner)
    namespace = team_space("auto")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": namespace, "team": team}, 201)
    await push_as(admin, owner, f"{namespace}/app")
    deleted = await admin.as_(owner).call("DELETE", f"/namespaces/{namespace}")

    mallory = await admin.new_user("mallory")
    issued = await token(admin, mallory, PASSWORD, f"{namespace}/app", "pull,push")
    assert issued["scope"] == ""
    assert (await admin.get(f"/teams/{namespace}")).status == 404
    assert (await admin.get(f"/namespaces/{namespace}")).status == 404
    assert deleted.status == 200 and deleted.body["reserved"]["namespace"] == namespace
    no_traceback_since(gateway, 0)


async def test_purge_deletes_the_manifests_in_the_registry_and_frees_the_name(admin: Api, registry: Registry) -> None:
    owner = await admin.new_user("bob")
    digests = {name: await push_as(admin, owner, f"{owner}/{name}") for name in ("app", "lib")}
    deleted = await admin.ok("DELETE", f"/users/{owner}")

    purged = await admin.ok("POST", f"/tombstones/{owner}/purge")
    assert purged["purged"] == {"namespace": owner, "repositories": 2, "manifests": 2}
    assert "the name is free" in purged["message"]
    for name, digest in digests.items():
        async with admin.session.get(
            f"{registry.url}/v2/{owner}/{name}/manifests/{digest}", headers={"Accept": OCI_MANIFEST}
        ) as response:
            assert response.status == 404, f"{name} is still in the registry"
    assert (await admin.get(f"/tombstones/{owner}")).status == 404
    assert not [r for r in (await admin.collect("/repositories", 1000))[0] if r["name"].startswith(f"{owner}/")]
    deletes = (await admin.ok("GET", f"/events?repository={owner}/app&action=delete"))["items"]
    assert [(e["target"]["digest"], e["actor"]["name"]) for e in deletes] == [(digests["app"], "admin")]

    await admin.ok("POST", "/users", {"name": owner, "password": PASSWORD}, 201)
    await after_second_of(deleted["reserved"]["deleted_at"])
    assert (await pull_as(admin, owner, PASSWORD, f"{owner}/app", digests["app"]))[0] == 404


async def test_purge_is_refused_where_deletion_is_disabled(
    make_gateway: Callable[..., Gateway], session: aiohttp.ClientSession, registry: Registry
) -> None:
    gateway = make_gateway({"GATEWAY_DELETE_ENABLED": "false"})
    admin = Api(session, gateway, Gateway.ADMIN)
    owner = await admin.new_user("bob")
    digest = await push_as(admin, owner, f"{owner}/app")
    await admin.ok("DELETE", f"/users/{owner}")
    refused = await admin.call("POST", f"/tombstones/{owner}/purge")
    assert refused.status == 409 and "deletion is disabled" in refused.message
    assert (await admin.get(f"/tombstones/{owner}")).status == 200
    async with session.get(f"{registry.url}/v2/{owner}/app/manifests/{digest}", headers={"Accept": OCI_MANIFEST}) as response:
        assert response.status == 200
    no_traceback_since(gateway, 0)
