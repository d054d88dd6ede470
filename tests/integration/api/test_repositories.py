"""/api/v1/repositories and their tags: what the caller may pull, from the real upstream registry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.integration.api.conftest import PASSWORD, Api, no_traceback_since, team_space
from tests.support.client import fetch_token
from tests.support.images import push_image, push_index
from tests.support.processes import Gateway, free_port
from tests.support.waiting import eventually_async

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


async def push_tags(api: Api, repository: str, *tags: str) -> None:
    """Push a tiny image under each tag, through the gateway, as its admin."""
    gateway = api.gateway
    token = await fetch_token(api.session, gateway.url, gateway.host, *Gateway.ADMIN, f"repository:{repository}:pull,push")
    headers = {"Authorization": f"Bearer {token['token']}"}
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    async with api.session.post(f"{gateway.url}/v2/{repository}/blobs/uploads/", headers=headers) as started:
        assert started.status == 202, await started.text()
        location = started.headers["Location"]
    async with api.session.put(location, params={"digest": digest}, data=config, headers=headers) as done:
        assert done.status == 201, await done.text()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": len(config)},
        "layers": [],
    }).encode()
    for tag in tags:
        url = f"{gateway.url}/v2/{repository}/manifests/{tag}"
        async with api.session.put(url, data=manifest, headers={**headers, "Content-Type": OCI_MANIFEST}) as response:
            assert response.status == 201, await response.text()


async def test_repositories_are_filtered_to_what_the_caller_may_pull(admin: Api) -> None:
    owner, outsider = await admin.new_user(), await admin.new_user()
    team = await admin.new_team(owner)
    private_ns, public_ns = team_space("rprivate"), team_space("rpublic")
    await admin.as_(owner).ok("POST", "/namespaces", {"name": private_ns, "team": team, "visibility": "private"}, 201)
    await admin.as_(owner).ok("POST", "/namespaces", {"name": public_ns, "team": team, "visibility": "public"}, 201)
    ours = {f"{private_ns}/app", f"{public_ns}/lib", f"{public_ns}/tool", f"{owner}/own"}
    for repository in sorted(ours):
        await push_tags(admin, repository, "v1")

    async def visible(api: Api, limit: int) -> set[str]:
        listed, _ = await api.collect("/repositories", limit)
        names = [r["name"] for r in listed]
        assert names == sorted(names) and len(names) == len(set(names))
        return {n for n in names if n in ours}

    assert await visible(admin, 1000) == ours
    assert await visible(admin.as_(owner), 2) == ours
    assert await visible(admin.as_(outsider), 1) == {f"{public_ns}/lib", f"{public_ns}/tool"}

    secret = (await admin.as_(owner).ok("POST", f"/users/{owner}/tokens", {"name": "ci", "namespaces": [private_ns]}, 201))["secret"]
    assert await visible(admin.as_(owner, secret), 1000) == {f"{private_ns}/app"}


async def test_tags_are_listed_paged_and_guarded(admin: Api) -> None:
    owner, outsider = await admin.new_user(), await admin.new_user()
    repository = f"{owner}/app"
    tags = ["1.0", "1.1", "2.0", "latest", "v3"]
    await push_tags(admin, repository, *tags)
    me = admin.as_(owner)
    page = await me.ok("GET", f"/repositories/{repository}/tags?limit=2")
    assert [t["name"] for t in page["items"]] == ["1.0", "1.1"] and page["next"] == "1.1"
    assert all(t["digest"].startswith("sha256:") and t["size"] > 0 for t in page["items"])
    listed, pages = await me.collect(f"/repositories/{repository}/tags", 2)
    assert [t["name"] for t in listed] == sorted(tags) and pages == 3
    assert [t["name"] for t in (await me.ok("GET", f"/repositories/{repository}/tags?after=latest"))["items"]] == ["v3"]

    refused = await admin.as_(outsider).get(f"/repositories/{repository}/tags")
    assert refused.status == 403 and refused.error_code == "forbidden"
    missing = await me.get(f"/repositories/{owner}/nothing-here/tags")
    assert missing.status == 404 and missing.error_code == "not_found"
    assert (await me.get("/repositories/Bad..Name/tags")).status == 400
    assert (await admin.as_(owner, PASSWORD).get("/repositories?limit=0")).status == 400


async def test_lists_come_from_the_index_even_while_the_upstream_is_down(
    make_gateway: Callable[..., Gateway], session: aiohttp.ClientSession
) -> None:
    gateway = make_gateway()
    api = Api(session, gateway, Gateway.ADMIN)
    await push_tags(api, "alice/indexed", "v1")
    gateway.stop()
    gateway.upstream_url = f"http://127.0.0.1:{free_port()}"
    gateway.start()
    assert [r["name"] for r in (await api.ok("GET", "/repositories"))["items"]] == ["alice/indexed"]
    assert [t["name"] for t in (await api.ok("GET", "/repositories/alice/indexed/tags"))["items"]] == ["v1"]
    no_traceback_since(gateway, 0)


async def test_tags_give_an_images_size_and_an_indexs_platforms(store_admin: Api) -> None:
    """Pushed through a gateway on each store, read back through /api/v1."""
    admin = store_admin
    owner = await admin.new_user()
    repository = f"{owner}/multi"
    gateway = admin.gateway
    token = await fetch_token(admin.session, gateway.url, gateway.host, *Gateway.ADMIN, f"repository:{repository}:pull,push")
    headers = {"Authorization": f"Bearer {token['token']}"}
    await push_image(admin.session, gateway.url, repository, "single", headers, seed="single")
    platforms = [{"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "arm64", "variant": "v8"},
                 {"os": "unknown", "architecture": "unknown"}]
    await push_index(admin.session, gateway.url, repository, "both", headers, platforms)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "seed": "single"})
    expected_size = len(config.encode()) + len(f"layer {repository} single".encode())

    tags = {t["name"]: t for t in (await admin.as_(owner).ok("GET", f"/repositories/{repository}/tags"))["items"]}
    assert set(tags) == {"both", "single"}
    assert (tags["single"]["image_size"], tags["single"]["platforms"]) == (expected_size, [])
    assert tags["single"]["size"] != expected_size  # the manifest's own bytes, as before
    assert (tags["both"]["image_size"], tags["both"]["platforms"]) == (None, ["linux/amd64", "linux/arm64/v8"])
    assert (tags["single"]["last_pull_at"], tags["both"]["last_pull_at"]) == (None, None)

    async with admin.session.get(f"{gateway.url}/v2/{repository}/manifests/single", headers={**headers, "Accept": OCI_MANIFEST}) as pulled:
        assert pulled.status == 200

    async def listed() -> dict[str, Any]:
        items = (await admin.as_(owner).ok("GET", f"/repositories/{repository}/tags"))["items"]
        return {t["name"]: t["last_pull_at"] for t in items}

    pulls = await eventually_async(listed, lambda found: found["single"] is not None)  # pulls are written in batches
    assert pulls["single"] is not None and pulls["both"] is None
