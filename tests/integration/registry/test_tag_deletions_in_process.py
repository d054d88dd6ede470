"""The gateway application in-process: where deletion is disabled a manifest DELETE is 405
UNSUPPORTED (by tag or digest, before any token); and its sweep finishes a tag deletion whose
holder died even when nobody writes to that repository again."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from yarl import URL

from gateway import keys
from gateway.app import create_app
from gateway.config import load_settings
from gateway.registry import manifest_writes
from gateway.registry.access import Access
from gateway.registry.manifest_writes import settle_write
from gateway.registry.purge import Upstream, delete_upstream
from gateway.registry.routes import Route
from gateway.registry.upstream_manifests import Manifest, get_manifest, tag_digests
from tests.support.images import push_image
from tests.support.processes import Registry
from tests.support.waiting import eventually_async


async def started(tmp_path: Path, registry: Registry, **env: str) -> TestClient[aiohttp.web.Request, aiohttp.web.Application]:
    settings = load_settings({"GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_UPSTREAM_URL": registry.url, **env})
    client = TestClient(TestServer(create_app(settings, announce_setup=False)))
    await client.start_server()
    return client


async def cut_short(
    client: TestClient[aiohttp.web.Request, aiohttp.web.Application], upstream: Upstream, repository: str, *tags: str
) -> tuple[str, Manifest]:
    """`tags` pushed on one image; a deletion of the first, by a holder that died (its lease runs
    out in 0.3 s) after deleting the manifest by digest, journaled to keep `kept`."""
    digest = ""
    for tag in tags:
        digest = await push_image(upstream.session, str(upstream.origin), repository, tag, {}, seed=repository)
    manifest = await get_manifest(upstream, repository, "kept")
    assert manifest is not None
    store = client.app[keys.STORE]
    until = int(time.time() * 1000) + 300
    assert await store.lock_tag_deletion(repository, tags[0], "dead", "alice", until)
    assert await store.record_tag_deletion(repository, "dead", until, digest, manifest.media_type, manifest.body, ["kept"])
    assert await delete_upstream(upstream, repository, digest)
    return digest, manifest


@pytest.fixture
async def upstream(registry: Registry) -> AsyncIterator[Upstream]:
    async with aiohttp.ClientSession() as session:
        yield Upstream(session, URL(registry.url), lambda repository: {})


async def test_a_manifest_delete_where_deletion_is_disabled_is_unsupported(tmp_path: Path, registry: Registry) -> None:
    client = await started(tmp_path, registry, GATEWAY_DELETE_ENABLED="false")
    try:
        for reference in ("v1", "sha256:" + "a" * 64):
            response = await client.delete(f"/v2/alice/app/manifests/{reference}")
            assert response.status == 405, reference
            assert (await response.json())["errors"][0]["code"] == "UNSUPPORTED"
        response = await client.get("/v2/alice/app/manifests/v1")
        assert response.status == 401
    finally:
        await client.close()


async def test_the_sweep_finishes_a_deletion_cut_short(
    tmp_path: Path, registry: Registry, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manifest_writes, "SWEEP_SECONDS", 0.05)
    repository = f"alice/sweep-{uuid.uuid4().hex[:8]}"
    client = await started(tmp_path, registry)
    try:
        digest, manifest = await cut_short(client, upstream, repository, "gone", "kept")
        store = client.app[keys.STORE]
        assert await eventually_async(lambda: store.get_tag_deletion(repository), lambda job: job is None) is None
        assert await tag_digests(upstream, repository) == {"kept": digest}
        assert await get_manifest(upstream, repository, "kept") == manifest
    finally:
        await client.close()


async def test_a_push_that_met_a_deletion_on_its_way_is_made_again_after_it(
    tmp_path: Path, registry: Registry, upstream: Upstream
) -> None:
    """A PUT of `new` passed the lock check, then a deletion of `gone` read the tags (not yet
    `new`) and deleted the manifest by digest, taking `new` with it; the PUT, answered 201, finds
    the lock, waits for the deletion (here: one whose holder died) and puts `new` back."""
    repository = f"alice/race-{uuid.uuid4().hex[:8]}"
    client = await started(tmp_path, registry)
    try:
        digest, manifest = await cut_short(client, upstream, repository, "gone", "kept", "new")
        store = client.app[keys.STORE]
        request = make_mocked_request(
            "PUT", f"/v2/{repository}/manifests/new", headers={"Content-Type": manifest.media_type}, app=client.app,
        )
        await settle_write(request, Route("manifest", repository, "new"), Access("alice"), 201, manifest.body)
        assert await store.get_tag_deletion(repository) is None
        assert await tag_digests(upstream, repository) == {"kept": digest, "new": digest}
    finally:
        await client.close()
