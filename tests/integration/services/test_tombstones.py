"""Reserved namespaces as services: admins only, the reserved-name refusal, release, and purge's
refusals (not reserved, deletes disabled, the registry refusing or failing) against a stand-in
registry on loopback."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.auth.policy import Rules
from gateway.registry.purge import Actor as PurgeRecorder
from gateway.services import tombstones
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, NotFound, Unavailable
from gateway.store import ManifestRow
from tests.integration.services.conftest import ADMIN, ALICE, Registry

DIGEST = "sha256:" + "a" * 64
RECORDER = PurgeRecorder("root", "127.0.0.1", "test")


async def _reserve(services: Services, owner: str = "dora") -> str:
    """A user deleted with a repository in their namespace: the name stays reserved."""
    store = services.store
    await store.create_user(owner, "x")
    manifest = ManifestRow(f"{owner}/app", DIGEST, "application/vnd.oci.image.manifest.v1+json", 10, None, None, None, 1)
    await store.index_push(manifest, "latest")
    deletion = await store.delete_user(owner, deleted_by="root")
    assert deletion.reserved is not None
    return owner


async def test_reserved_name_is_refused_with_the_api_path_and_the_cli_command(services: Services) -> None:
    name = await _reserve(services)
    with pytest.raises(Conflict) as refused:
        await tombstones.refuse_if_reserved(services, name, f"a user named {name!r}")
    message = refused.value.message
    assert f"the name {name!r} is reserved" in message and f"a user named {name!r}" in message
    assert f"/api/v1/tombstones/{name}/release" in message and f"namespace release {name}" in message
    await tombstones.refuse_if_reserved(services, "free-name", "a user named 'free-name'")


async def test_only_admins_list_read_release_and_purge(services: Services, upstream: Registry) -> None:
    name = await _reserve(services)
    with pytest.raises(Forbidden):
        await tombstones.list_tombstones(services, ALICE)
    with pytest.raises(Forbidden):
        await tombstones.get_tombstone(services, ALICE, name)
    with pytest.raises(Forbidden):
        await tombstones.release_tombstone(services, ALICE, name)
    with pytest.raises(Forbidden):
        await tombstones.purge_tombstone(services, ALICE, name, await upstream(202), RECORDER)
    assert [t.name for t in await tombstones.list_tombstones(services, ADMIN)] == [name]
    assert (await tombstones.get_tombstone(services, ADMIN, name)).repositories == 1


async def test_release_frees_the_name_and_keeps_the_repositories(services: Services) -> None:
    name = await _reserve(services)
    released = await tombstones.release_tombstone(services, ADMIN, name)
    assert released.tombstone.name == name and released.repositories_left == 1
    await tombstones.refuse_if_reserved(services, name, "anyone")
    with pytest.raises(NotFound, match="is not reserved"):
        await tombstones.release_tombstone(services, ADMIN, name)
    with pytest.raises(NotFound, match="is not reserved"):
        await tombstones.get_tombstone(services, ADMIN, name)


async def test_purge_refuses_a_name_not_reserved_and_disabled_deletion(services: Services, upstream: Registry) -> None:
    with pytest.raises(NotFound, match="is not reserved"):
        await tombstones.purge_tombstone(services, ADMIN, "nobody", await upstream(202), RECORDER)
    name = await _reserve(services)
    no_deletes = dataclasses.replace(services, rules=Rules(delete_enabled=False))
    with pytest.raises(Conflict, match=r"delete\.enabled = false"):
        await tombstones.purge_tombstone(no_deletes, ADMIN, name, await upstream(202), RECORDER)
    assert await services.store.get_tombstone(name) is not None


async def test_a_registry_refusing_deletes_is_a_conflict_and_the_name_stays_reserved(
    services: Services, upstream: Registry
) -> None:
    name = await _reserve(services)
    with pytest.raises(Conflict, match="does not allow deletes") as refused:
        await tombstones.purge_tombstone(services, ADMIN, name, await upstream(405), RECORDER)
    assert "the name stays reserved" in refused.value.message
    assert await services.store.get_tombstone(name) is not None


async def test_a_failing_registry_is_unavailable_and_the_name_stays_reserved(services: Services, upstream: Registry) -> None:
    name = await _reserve(services)
    with pytest.raises(Unavailable, match="answered 500") as failed:
        await tombstones.purge_tombstone(services, ADMIN, name, await upstream(500), RECORDER)
    assert "0 repositories and 0 manifests purged" in failed.value.message
    assert await services.store.get_tombstone(name) is not None


async def test_purge_deletes_the_manifests_and_frees_the_name(services: Services, upstream: Registry) -> None:
    name = await _reserve(services)
    assert [r.name for r in await services.store.search_repositories(f"{name}/")] == [f"{name}/app"]
    purged = await tombstones.purge_tombstone(services, ADMIN, name, await upstream(202), RECORDER)
    assert (purged.repositories, purged.manifests) == (1, 1)
    assert await services.store.get_tombstone(name) is None
    assert await services.store.namespace_repositories(name) == []
    # the name's trigrams went with its row: a search no longer reads it, nor counts it
    grams = await services.store.fetch_all("SELECT gram FROM repository_grams WHERE name = :name", {"name": f"{name}/app"})
    counted = await services.store.fetch_all("SELECT n FROM gram_counts WHERE gram = 'ora'")
    assert grams == [] and [int(r["n"]) for r in counted] == [0]
    deletes = await services.store.list_events(action="delete")
    assert [(e.repository, e.body["actor"]["name"]) for e in deletes] == [(f"{name}/app", "root")]
