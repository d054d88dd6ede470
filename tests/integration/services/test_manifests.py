"""Deleting one manifest as a service: the registry's delete policy (admins, a namespace's
owners, not viewers; nothing while deletion is disabled), the registry asked, the index and
its tags updated, and a delete event with the actor's name."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.auth.policy import Identity, Rules
from gateway.registry.purge import Actor as DeleteRecorder
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.services.manifests import DELETE_DISABLED, delete_manifest, may_delete
from gateway.store import ManifestRow
from tests.integration.services.conftest import Registry

DIGEST = "sha256:" + "d" * 64
OTHER = "sha256:" + "e" * 64
ALICE_ID, BOB_ID, ADMIN_ID = Identity("alice"), Identity("bob"), Identity("root", admin=True)


@pytest.fixture
async def pushed(services: Services) -> Services:
    """alice's public personal namespace holds alice/app: tags v1 and v1.0 on one manifest, v2 on another."""
    store = services.store
    for user in ("alice", "bob"):
        await store.create_user(user, "x")
    await store.create_namespace("alice", None, "public")
    for digest, tag in ((DIGEST, "v1"), (DIGEST, "v1.0"), (OTHER, "v2")):
        await store.index_push(ManifestRow("alice/app", digest, "application/vnd.oci.image.manifest.v1+json", 5, None, None, None, 1), tag)
    return services


def recorder(name: str, deleted: list[tuple[str, str]]) -> DeleteRecorder:
    return DeleteRecorder(name, "127.0.0.1", "test", lambda repository, digest: deleted.append((repository, digest)))


async def test_who_may_delete_follows_the_registry_policy(pushed: Services) -> None:
    assert await may_delete(pushed, ADMIN_ID, "alice/app")
    assert await may_delete(pushed, ALICE_ID, "alice/app")
    assert not await may_delete(pushed, BOB_ID, "alice/app")
    disabled = dataclasses.replace(pushed, rules=Rules(delete_enabled=False))
    assert not await may_delete(disabled, ADMIN_ID, "alice/app")


async def test_deleting_a_manifest_drops_its_tags_and_records_who_deleted_it(pushed: Services, upstream: Registry) -> None:
    deleted: list[tuple[str, str]] = []
    await delete_manifest(pushed, ALICE_ID, "alice/app", DIGEST, await upstream(202), recorder("alice", deleted))
    store = pushed.store
    assert [t.tag for t in await store.list_tags("alice/app")] == ["v2"]
    assert await store.manifest_digests("alice/app") == [OTHER]
    events = await store.list_events(repository="alice/app", action="delete", limit=10)
    assert [(e.body["actor"]["name"], e.body["target"]["digest"]) for e in events] == [("alice", DIGEST)]
    assert events[0].body["request"]["useragent"] == "portus-gateway web UI"
    assert deleted == [("alice/app", DIGEST)]


async def test_a_delete_refused_or_impossible_changes_nothing(pushed: Services, upstream: Registry) -> None:
    deleted: list[tuple[str, str]] = []
    registry = await upstream(202)
    with pytest.raises(Forbidden, match="may not delete"):
        await delete_manifest(pushed, BOB_ID, "alice/app", DIGEST, registry, recorder("bob", deleted))
    disabled = dataclasses.replace(pushed, rules=Rules(delete_enabled=False))
    with pytest.raises(Forbidden, match="deletion is disabled"):
        await delete_manifest(disabled, ADMIN_ID, "alice/app", DIGEST, registry, recorder("root", deleted))
    assert DELETE_DISABLED.startswith("deletion is disabled")
    with pytest.raises(NotFound, match="no such manifest"):
        await delete_manifest(pushed, ADMIN_ID, "alice/app", "sha256:" + "f" * 64, registry, recorder("root", deleted))
    with pytest.raises(Invalid, match="not a valid digest"):
        await delete_manifest(pushed, ADMIN_ID, "alice/app", "latest", registry, recorder("root", deleted))
    with pytest.raises(Conflict, match="does not allow deletes"):
        await delete_manifest(pushed, ADMIN_ID, "alice/app", DIGEST, await upstream(405), recorder("root", deleted))
    assert len(await pushed.store.list_tags("alice/app")) == 3
    assert await pushed.store.list_events(action="delete", limit=10) == []
    assert deleted == []


async def test_a_private_repository_of_someone_else_is_not_found(pushed: Services, upstream: Registry) -> None:
    await pushed.store.update_namespace("alice", visibility="private")
    with pytest.raises(NotFound, match="no such repository"):
        await delete_manifest(pushed, BOB_ID, "alice/app", DIGEST, await upstream(202), recorder("bob", []))


async def test_a_manifest_with_an_immutable_tag_is_not_deleted(pushed: Services, upstream: Registry) -> None:
    await pushed.store.update_namespace("alice", immutable_tags=("v1.*", "release-*"))
    with pytest.raises(Forbidden, match=r"tag 'v1.0' of 'alice/app' is immutable \(pattern 'v1.\*'"):
        await delete_manifest(pushed, ALICE_ID, "alice/app", DIGEST, await upstream(202), recorder("alice", []))
    await delete_manifest(pushed, ALICE_ID, "alice/app", OTHER, await upstream(202), recorder("alice", []))
    assert [t.tag for t in await pushed.store.list_tags("alice/app")] == ["v1", "v1.0"]
