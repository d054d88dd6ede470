"""The command line's reserved namespaces: `user delete` and `namespace delete` say when a name
stays reserved, `user add` and `namespace add` refuse it, `namespace tombstones | release |
purge` manage it; a running gateway follows within its revocation refresh."""

from __future__ import annotations

import asyncio
import time

from tests.integration.api.conftest import PASSWORD, Api, team_space, unique
from tests.integration.api.test_tombstones import get_manifest, pull_as, push_as, token
from tests.support.images import OCI_MANIFEST
from tests.support.processes import Gateway, Registry


async def test_cli_user_delete_reserves_the_name_until_released(store_admin: Api) -> None:
    admin, gateway = store_admin, store_admin.gateway
    owner = await admin.new_user("bob")
    await admin.as_(owner).ok("PATCH", f"/namespaces/{owner}", {"visibility": "protected"})
    digest = await push_as(admin, owner, f"{owner}/app")
    viewer = await admin.new_user("viewer")
    old = (await token(admin, viewer, PASSWORD, f"{owner}/app"))["token"]
    assert (await get_manifest(admin, old, f"{owner}/app", digest))[0] == 200

    deleted = gateway.cli("user", "delete", owner).stdout
    assert f"user {owner} deleted; namespace {owner} still holds 1 repositories and stays reserved" in deleted
    assert f"`namespace release {owner}`" in deleted
    deadline = time.monotonic() + 30  # the running gateway follows the store within a poll; 30 s: generous, only against a hang
    while (await get_manifest(admin, old, f"{owner}/app", digest))[0] != 401:
        assert time.monotonic() < deadline, "a token from before the deletion still pulls"
        await asyncio.sleep(0.2)

    refused = gateway.cli("user", "add", owner, "--password-stdin", stdin=PASSWORD + "\n", check=False)
    assert refused.returncode == 1 and f"the name {owner!r} is reserved" in refused.stderr
    team = unique("t")
    gateway.cli("team", "add", team)
    claim = gateway.cli("namespace", "add", owner, "--team", team, check=False)
    assert claim.returncode == 1 and "reserved" in claim.stderr and f"namespace release {owner}" in claim.stderr
    listed = gateway.cli("namespace", "tombstones").stdout
    assert f"{owner} repositories=1 former=user:{owner} deleted_by=(command line)" in listed

    released = gateway.cli("namespace", "release", owner).stdout
    assert "whoever takes the name" in released
    again = gateway.cli("namespace", "release", owner, check=False)
    assert again.returncode == 1 and "not reserved" in again.stderr
    gateway.add_user(owner, PASSWORD)
    await asyncio.sleep(max(0.0, int(time.time()) + 1 - time.time()))  # past the second of the deletion
    assert (await pull_as(admin, owner, PASSWORD, f"{owner}/app", digest))[0] == 200, "the release said so"


async def test_cli_namespace_delete_and_purge(admin: Api, gateway: Gateway, registry: Registry) -> None:
    owner = await admin.new_user("owner")
    team = await admin.new_team(owner)
    namespace = team_space("cli")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": namespace, "team": team}, 201)
    digest = await push_as(admin, owner, f"{namespace}/app")

    deleted = gateway.cli("namespace", "delete", namespace).stdout
    assert f"namespace {namespace} deleted; namespace {namespace} still holds 1 repositories" in deleted
    assert (await admin.get(f"/tombstones/{namespace}")).body["former_owner"] == {"kind": "team", "name": team}
    purged = gateway.cli("namespace", "purge", namespace).stdout
    assert f"namespace {namespace} purged: 1 manifests of 1 repositories deleted" in purged
    async with admin.session.get(
        f"{registry.url}/v2/{namespace}/app/manifests/{digest}", headers={"Accept": OCI_MANIFEST}
    ) as response:
        assert response.status == 404
    assert "no such namespace" in gateway.cli("namespace", "delete", namespace, check=False).stderr
    assert "not reserved" in gateway.cli("namespace", "purge", namespace, check=False).stderr
    assert f"namespace {namespace} created" in gateway.cli("namespace", "add", namespace, "--team", team).stdout
