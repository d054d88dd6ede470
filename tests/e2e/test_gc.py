"""Blob garbage collection over a real registry 2.8 and skopeo: a run after deletes frees the
deleted images' layers on disk while every kept image still pulls byte for byte; during the
window a push gets 503 UNAVAILABLE with Retry-After (pulls go on) and succeeds once it closed.
On a registry nothing was pushed to, a run ends done with nothing collected.

The module has a registry of its own (a collection rewrites its storage) and one gateway in
front of it whose collector waits while a hold file exists, so a test can keep the window open
for as long as it looks at it."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.clients import Skopeo, creds, oci_layout_manifest, unique
from tests.support.client import USERS, bearer
from tests.support.oci_layout import Layout, build_layout
from tests.support.processes import REPO_ROOT, Gateway, Registry, require_tool
from tests.support.waiting import eventually_async

LAYER_SIZE = 192 * 1024
ADMIN = {"Authorization": aiohttp.encode_basic_auth(*Gateway.ADMIN)}
ALICE = {"Authorization": aiohttp.encode_basic_auth("alice", USERS["alice"])}


@pytest.fixture(scope="module")
def gc_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    instance = Registry(tmp_path_factory.mktemp("gc-registry"))
    instance.store.mkdir()  # as scripts/run and a Docker volume have it before the first push
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def hold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """While this file exists the collector waits (at most 30 s) before it starts."""
    return tmp_path_factory.mktemp("gc-hold") / "hold"


@pytest.fixture(scope="module")
def gc_gateway(gc_registry: Registry, hold: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    collector = f"{require_tool('docker-registry')} garbage-collect --delete-untagged {gc_registry.config_path}"
    waiting = f'i=0; while [ -e {hold} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; exec {collector} "$@"'
    env = {
        "GATEWAY_GC_COMMAND": shlex.join(["sh", "-c", waiting, "collector"]),
        "GATEWAY_GC_STORAGE_DIR": str(gc_registry.store),
        "GATEWAY_GC_UPLOAD_IDLE": "5",
    }
    instance = Gateway(tmp_path_factory.mktemp("gc-gateway"), gc_registry.url, env)
    for name, password in USERS.items():
        instance.add_user(name, password)
    instance.start()
    yield instance
    instance.stop()


def blob_file(registry: Registry, digest: str) -> Path:
    hexa = digest.split(":", 1)[1]
    return registry.store / "docker/registry/v2/blobs/sha256" / hexa[:2] / hexa / "data"


def push(skopeo: Skopeo, tmp_path: Path, repository: str, layers: int = 2) -> Layout:
    layout = build_layout(tmp_path / f"layout-{repository.replace('/', '-')}", layers=layers, layer_size=LAYER_SIZE, seed=repository)
    result = skopeo.copy(f"oci:{layout.path}:latest", skopeo.ref(repository, "v1"), dest_creds=creds("alice"))
    assert result.ok, result.describe()
    return layout


def pulls_intact(skopeo: Skopeo, tmp_path: Path, repository: str, layout: Layout) -> None:
    back = tmp_path / f"back-{repository.replace('/', '-')}-{len(list(tmp_path.iterdir()))}"
    pulled = skopeo.copy(skopeo.ref(repository, "v1"), f"oci:{back}:v1", src_creds=creds("alice"))
    assert pulled.ok, pulled.describe()
    assert oci_layout_manifest(back) == (layout.manifest_digest, list(layout.layer_digests))


async def gc_state(session: aiohttp.ClientSession, gateway: Gateway) -> dict[str, Any]:
    async with session.get(f"{gateway.url}/api/v1/gc", headers=ADMIN) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def gc_run(session: aiohttp.ClientSession, gateway: Gateway, *, dry_run: bool) -> dict[str, Any]:
    """Start a run through the API and wait (30 s at most) until it ended; its state."""
    async with session.post(f"{gateway.url}/api/v1/gc", json={"dry_run": dry_run}, headers=ADMIN) as started:
        assert started.status == 202, await started.text()
    state = await eventually_async(lambda: gc_state(session, gateway), lambda s: not s["running"], timeout=30)
    assert not state["running"] and not state["write_window"], state
    return state


async def test_gc_after_deletes_frees_the_deleted_layers_and_every_kept_image_still_pulls(
    gc_gateway: Gateway, gc_registry: Registry, hold: Path, tmp_path: Path
) -> None:
    hold.unlink(missing_ok=True)
    skopeo = Skopeo.create(gc_gateway, tmp_path / "skopeo")
    kept_repository, dropped_repository = unique("alice/gc-kept"), unique("alice/gc-dropped")
    kept, dropped = push(skopeo, tmp_path, kept_repository), push(skopeo, tmp_path, dropped_repository)
    deleted = skopeo.delete(skopeo.ref(dropped_repository, "v1"), creds("alice"))
    assert deleted.ok, deleted.describe()
    dropped_bytes = sum(blob_file(gc_registry, d).stat().st_size for d in dropped.layer_digests)

    dry = gc_gateway.cli("gc", "--dry-run")
    would = re.search(r"dry run: (\d+) blobs \((\d+) bytes\)", dry.stdout)
    assert would is not None, dry.stdout + dry.stderr
    assert int(would.group(1)) >= len(dropped.layer_digests) and int(would.group(2)) >= dropped_bytes
    assert all(blob_file(gc_registry, d).is_file() for d in dropped.layer_digests), "a dry run deletes nothing"

    collected = gc_gateway.cli("gc")
    done = re.search(r"deleted (\d+) blobs .* reclaimed (\d+) bytes", collected.stdout)
    assert done is not None, collected.stdout + collected.stderr
    assert int(done.group(1)) >= len(dropped.layer_digests) and int(done.group(2)) >= dropped_bytes
    assert "garbage collection draining" in collected.stderr and "garbage collection done" in collected.stderr
    assert not any(blob_file(gc_registry, d).exists() for d in dropped.layer_digests)
    assert all(blob_file(gc_registry, d).is_file() for d in kept.layer_digests)
    pulls_intact(skopeo, tmp_path, kept_repository, kept)

    async with aiohttp.ClientSession() as session:
        state = await gc_state(session, gc_gateway)
    assert state["phase"] == "done" and not state["running"] and not state["write_window"]
    assert state["requested_by"] == "(command line)" and state["result"] == collected.stdout.strip()


async def test_a_push_during_the_window_gets_503_with_retry_after_pulls_go_on_and_it_succeeds_after(
    gc_gateway: Gateway, hold: Path, tmp_path: Path
) -> None:
    skopeo = Skopeo.create(gc_gateway, tmp_path / "skopeo")
    kept_repository, late_repository = unique("alice/gc-pulled"), unique("alice/gc-late")
    kept = push(skopeo, tmp_path, kept_repository, layers=1)
    late = build_layout(tmp_path / "late", layers=1, layer_size=LAYER_SIZE, seed=late_repository)
    hold.touch()
    # The window is opened by another process (the command line), as another instance would.
    collection = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "gc", env=gc_gateway.environment(), cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as session:
            state = await eventually_async(lambda: gc_state(session, gc_gateway), lambda s: s["phase"] == "collecting")
            assert state["running"] and state["write_window"] and state["requested_by"] == "(command line)", state
            async with session.post(f"{gc_gateway.url}/api/v1/gc", json={}, headers=ADMIN) as again:
                assert again.status == 409, await again.text()

            headers = await bearer(session, gc_gateway.url, gc_gateway.host, "alice", f"repository:{late_repository}:pull,push")
            async with session.post(f"{gc_gateway.url}/v2/{late_repository}/blobs/uploads/", headers=headers) as refused:
                assert refused.status == 503
                assert refused.headers["Retry-After"] == "30"
                assert (await refused.json())["errors"][0]["code"] == "UNAVAILABLE"
            refused_push = skopeo.copy(f"oci:{late.path}:latest", skopeo.ref(late_repository, "v1"), dest_creds=creds("alice"))
            assert not refused_push.ok and "503 Service Unavailable" in refused_push.stderr, refused_push.describe()
            pulls_intact(skopeo, tmp_path, kept_repository, kept)
            hold.unlink()
            output, _ = await asyncio.wait_for(collection.communicate(), 60)
            assert collection.returncode == 0 and output.startswith(b"deleted"), output
            state = await gc_state(session, gc_gateway)
            assert state["phase"] == "done" and not state["running"] and not state["write_window"], state
    finally:
        hold.unlink(missing_ok=True)
        if collection.returncode is None:
            collection.kill()
            await collection.wait()
    pushed = skopeo.copy(f"oci:{late.path}:latest", skopeo.ref(late_repository, "v1"), dest_creds=creds("alice"))
    assert pushed.ok, pushed.describe()
    pulls_intact(skopeo, tmp_path, late_repository, late)


async def test_an_admin_starts_a_dry_run_through_the_api_and_follows_it(gc_gateway: Gateway, hold: Path) -> None:
    hold.unlink(missing_ok=True)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gc_gateway.url}/api/v1/gc", json={"dry_run": True}, headers=ADMIN) as started:
            assert started.status == 202, await started.text()
            body = await started.json()
            assert body["dry_run"] is True and body["write_window"] is False and body["requested_by"] == "admin"
        state = await eventually_async(lambda: gc_state(session, gc_gateway), lambda s: not s["running"], timeout=30)
    assert state["phase"] == "done" and state["result"].startswith("dry run: "), state


async def test_only_admins_may_see_or_start_a_collection(gc_gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        for method in ("GET", "POST"):
            async with session.request(method, f"{gc_gateway.url}/api/v1/gc", headers=ALICE) as response:
                assert response.status == 403
                assert "only admins" in json.dumps(await response.json())
        async with session.post(f"{gc_gateway.url}/api/v1/gc", json={"dry_run": "yes"}, headers=ADMIN) as bad:
            assert bad.status == 400


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[Registry, Gateway]]:
    """A registry nothing was pushed to (its storage directory not made yet) and a gateway whose
    collector is the registry's; the storage comes from the registry config (no gc.storage_dir)."""
    registry = Registry(tmp_path / "registry").start()
    collector = f"{require_tool('docker-registry')} garbage-collect --delete-untagged {registry.config_path}"
    gateway = Gateway(tmp_path / "gateway", registry.url, {"GATEWAY_GC_COMMAND": collector, "GATEWAY_GC_UPLOAD_IDLE": "1"})
    try:
        yield registry, gateway.start()
    finally:
        gateway.stop()
        registry.stop()


async def test_on_a_registry_nothing_was_pushed_to_a_run_ends_done_with_nothing_collected(fresh: tuple[Registry, Gateway]) -> None:
    """Registry 2.8's collector fails on such a storage ("Path not found"), dry run or not."""
    registry, gateway = fresh
    registry.store.mkdir()  # a fresh registry's storage, as scripts/run and a Docker volume have it
    async with aiohttp.ClientSession() as session:
        dry = await gc_run(session, gateway, dry_run=True)
        assert dry["phase"] == "done", dry
        assert dry["result"] == "dry run: 0 blobs (0 bytes) and 0 untagged manifests would be deleted", dry
        real = await gc_run(session, gateway, dry_run=False)
        assert real["phase"] == "done", real
        assert real["result"] == "deleted 0 blobs and 0 untagged manifests, reclaimed 0 bytes", real

        # A first push that never finished: a repository directory, still no blob.
        async with session.post(f"{registry.url}/v2/alice/first/blobs/uploads/") as upload:
            assert upload.status == 202, await upload.text()
        assert (registry.store / "docker/registry/v2/repositories").is_dir()
        assert not (registry.store / "docker/registry/v2/blobs").exists()
        after_upload = await gc_run(session, gateway, dry_run=True)
        assert after_upload["phase"] == "done" and after_upload["result"].startswith("dry run: 0 blobs"), after_upload


async def test_a_run_whose_storage_directory_is_missing_fails_saying_so(fresh: tuple[Registry, Gateway]) -> None:
    registry, gateway = fresh
    async with aiohttp.ClientSession() as session:
        for dry_run in (True, False):
            state = await gc_run(session, gateway, dry_run=dry_run)
            assert state["phase"] == "failed", state
            assert f"the storage directory {registry.store} is not a directory" in state["result"], state
            assert "Path not found: /docker/registry/v2/repositories" in state["result"], state
