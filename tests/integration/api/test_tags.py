"""Deleting one tag through /v2, /api/v1 and the command line, and immutable tags, on the shared
gateway and the real registry 2.8: the other tags keep their exact bytes, the audit log has one
event, a viewer may not delete, a push waits for a deletion in progress (and finishes one whose
holder died), and an immutable tag is neither moved nor deleted."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.integration.api.conftest import PASSWORD, Api, team_space
from tests.support.client import fetch_token
from tests.support.images import OCI_MANIFEST, push_image, push_manifest
from tests.support.processes import Gateway


async def bearer_for(api: Api, user: str, repository: str, actions: str) -> dict[str, str]:
    issued = await fetch_token(api.session, api.gateway.url, api.gateway.host, user, PASSWORD, f"repository:{repository}:{actions}")
    return {"Authorization": f"Bearer {issued['token']}"}


async def v2(api: Api, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> tuple[int, bytes, dict[str, str]]:
    async with api.session.request(method, f"{api.gateway.url}/v2/{path}", headers=headers, **kwargs) as response:
        return response.status, await response.read(), dict(response.headers)


async def tags_of(api: Api, headers: dict[str, str], repository: str) -> list[str]:
    status, body, _ = await v2(api, "GET", f"{repository}/tags/list", headers)
    assert status == 200, body
    return sorted(json.loads(body)["tags"] or [])


async def manifest_of(api: Api, headers: dict[str, str], repository: str, reference: str) -> tuple[int, bytes]:
    status, body, _ = await v2(api, "GET", f"{repository}/manifests/{reference}", {**headers, "Accept": OCI_MANIFEST})
    return status, body


async def owned_namespace(admin: Api) -> tuple[str, str]:
    """A fresh team namespace and its owner (who may push and delete there)."""
    owner = await admin.new_user("own")
    team = await admin.new_team(owner)
    namespace = team_space("tags")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": namespace, "team": team}, 201)
    return namespace, owner


async def test_v2_deletes_one_of_two_tags_and_the_other_keeps_its_bytes(admin: Api) -> None:
    namespace, owner = await owned_namespace(admin)
    repository = f"{namespace}/app"
    headers = await bearer_for(admin, owner, repository, "pull,push,delete")
    digest = await push_image(admin.session, admin.gateway.url, repository, "v1", headers, seed=repository)
    assert await push_image(admin.session, admin.gateway.url, repository, "latest", headers, seed=repository) == digest
    before = await manifest_of(admin, headers, repository, "latest")

    status, body, _ = await v2(admin, "DELETE", f"{repository}/manifests/v1", headers)
    assert status == 202, body
    assert await tags_of(admin, headers, repository) == ["latest"]
    assert await manifest_of(admin, headers, repository, "latest") == before
    assert (await manifest_of(admin, headers, repository, "v1"))[0] == 404
    status, body, _ = await v2(admin, "DELETE", f"{repository}/manifests/v1", headers)
    assert status == 404 and b"MANIFEST_UNKNOWN" in body

    events = (await admin.get("/events", repository=repository)).body
    actions = [(e["action"], e["target"].get("tag", "")) for e in events["items"]]
    assert actions.count(("delete", "v1")) == 1 and [a for a, _ in actions].count("delete") == 1
    assert [a for a, _ in actions].count("push") == 2
    listed = (await admin.get(f"/repositories/{repository}/tags")).body["items"]
    assert [t["name"] for t in listed] == ["latest"]


async def test_a_viewer_may_not_delete_a_tag(admin: Api) -> None:
    namespace, owner = await owned_namespace(admin)
    repository = f"{namespace}/app"
    viewer = await admin.new_user("view")
    team = (await admin.get(f"/namespaces/{namespace}")).body["team"]
    await admin.as_(owner).ok("PUT", f"/teams/{team}/members/{viewer}", {"role": "viewer"}, 201)
    await push_image(admin.session, admin.gateway.url, repository, "v1", await bearer_for(admin, owner, repository, "pull,push"))

    status, _, headers = await v2(admin, "DELETE", f"{repository}/manifests/v1", await bearer_for(admin, viewer, repository, "pull,delete"))
    assert status == 401 and "insufficient_scope" in headers["WWW-Authenticate"]
    refused = await admin.as_(viewer).delete(f"/repositories/{repository}/tags/v1")
    assert refused.status == 403 and "may not delete" in refused.message
    assert await tags_of(admin, await bearer_for(admin, viewer, repository, "pull"), repository) == ["v1"]


async def test_immutable_tags_are_neither_moved_nor_deleted(admin: Api) -> None:
    namespace, owner = await owned_namespace(admin)
    repository = f"{namespace}/app"
    api = admin.as_(owner)
    changed = await api.ok("PATCH", f"/namespaces/{namespace}", {"immutable_tags": ["v*", "release-*"]})
    assert changed["immutable_tags"] == ["v*", "release-*"]
    bad = await api.patch(f"/namespaces/{namespace}", {"immutable_tags": ["v/*"]})
    assert bad.status == 400 and "not a tag pattern" in bad.message
    headers = await bearer_for(admin, owner, repository, "pull,push,delete")
    first = await push_image(admin.session, admin.gateway.url, repository, "v1", headers, seed="one")
    assert await push_image(admin.session, admin.gateway.url, repository, "v1", headers, seed="one") == first
    await push_image(admin.session, admin.gateway.url, repository, "latest", headers, seed="one")
    other = await push_image(admin.session, admin.gateway.url, repository, "", headers, seed="two")
    status, moved = await manifest_of(admin, headers, repository, other)
    assert status == 200

    put = await v2(admin, "PUT", f"{repository}/manifests/v1", {**headers, "Content-Type": OCI_MANIFEST}, data=moved)
    assert put[0] == 403 and b"DENIED" in put[1] and b"pattern 'v*'" in put[1]
    put = await v2(admin, "PUT", f"{repository}/manifests/latest", {**headers, "Content-Type": OCI_MANIFEST}, data=moved)
    assert put[0] == 201
    for path in ("manifests/v1", f"manifests/{first}"):
        status, body, _ = await v2(admin, "DELETE", f"{repository}/{path}", headers)
        assert status == 403 and b"DENIED" in body and b"immutable" in body, (path, body)
    refused = await api.delete(f"/repositories/{repository}/tags/v1")
    assert refused.status == 403 and "pattern 'v*'" in refused.message
    assert (await manifest_of(admin, headers, repository, "v1")) == (200, (await manifest_of(admin, headers, repository, first))[1])

    assert (await api.ok("PATCH", f"/namespaces/{namespace}", {"immutable_tags": []}))["immutable_tags"] == []
    deleted = await api.ok("DELETE", f"/repositories/{repository}/tags/v1")
    assert deleted == {"repository": repository, "tag": "v1", "digest": first, "kept": []}
    assert await tags_of(admin, headers, repository) == ["latest"]


async def test_the_command_line_deletes_a_tag_and_sets_immutable_tags(admin: Api, gateway: Gateway) -> None:
    namespace, owner = await owned_namespace(admin)
    repository = f"{namespace}/cli"
    headers = await bearer_for(admin, owner, repository, "pull,push")
    for tag in ("a", "b"):
        await push_image(admin.session, gateway.url, repository, tag, headers, seed=repository)
    out = gateway.cli("tag", "delete", f"{repository}:a").stdout
    assert out.strip() == f"tag {repository}:a deleted; its other tags b stay"
    assert await tags_of(admin, headers, repository) == ["b"]
    gateway.cli("namespace", "update", namespace, "--immutable-tags", "b*, release-*")
    assert (await admin.get(f"/namespaces/{namespace}")).body["immutable_tags"] == ["b*", "release-*"]
    refused = gateway.cli("tag", "delete", f"{repository}:b", check=False)
    assert refused.returncode == 1 and "pattern 'b*'" in refused.stderr and "Traceback" not in refused.stderr
    wrong = gateway.cli("tag", "delete", repository, check=False)
    assert wrong.returncode == 1 and "REPOSITORY:TAG" in wrong.stderr


async def test_a_push_waits_for_a_deletion_whose_holder_died_and_finishes_it(admin: Api, gateway: Gateway) -> None:
    """The lock of a deletion cut short after its manifest delete: a push to the repository
    waits until its lease runs out, puts the other tags back, then goes on."""
    from gateway.store import open_store  # the gateway's own SQLite store, beside the running gateway

    namespace, owner = await owned_namespace(admin)
    repository = f"{namespace}/held"
    headers = await bearer_for(admin, owner, repository, "pull,push")
    digest = await push_image(admin.session, gateway.url, repository, "gone", headers, seed=repository)
    for tag in ("keep1", "keep2"):
        await push_image(admin.session, gateway.url, repository, tag, headers, seed=repository)
    _, body = await manifest_of(admin, headers, repository, "gone")
    store = await open_store(f"sqlite:///{gateway.workdir / 'data' / 'gateway.db'}")
    try:
        until = int(time.time() * 1000) + 1500
        assert await store.lock_tag_deletion(repository, "gone", "dead-holder", owner, until)
        assert await store.record_tag_deletion(repository, "dead-holder", until, digest, OCI_MANIFEST, body, ["keep1", "keep2"])
        async with admin.session.delete(f"{gateway.upstream_url}/v2/{repository}/manifests/{digest}") as response:
            assert response.status == 202
        status, _ = await push_manifest(
            admin.session, gateway.url, repository, "new", json.loads(body), headers,
        )
        assert status == 201
        assert await store.get_tag_deletion(repository) is None
    finally:
        await store.close()
    assert await tags_of(admin, headers, repository) == ["keep1", "keep2", "new"]
    assert await manifest_of(admin, headers, repository, "keep2") == (200, body)
    events = (await admin.get("/events", repository=repository, action="delete")).body["items"]
    assert [(e["actor"]["name"], e["target"]["tag"]) for e in events] == [(owner, "gone")]
