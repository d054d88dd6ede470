"""Garbage collection as a service, on both stores, with a stand-in collector (the real one runs
in tests/e2e/test_gc.py): who may run it, one at a time, the drain waiting for running uploads
(and giving up at its timeout), the window refusing the gateway's own deletions, a failed
collector closing the window, and a registry nothing was pushed to."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.auth.policy import Identity
from gateway.registry.purge import Actor as DeleteRecorder
from gateway.services import gc
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Unavailable
from gateway.services.manifests import delete_manifest
from gateway.store import ManifestRow, UploadState
from gateway.store.sql import now
from tests.integration.services.conftest import ADMIN, ALICE, Registry

DIGEST = "sha256:" + "d" * 64
NO_REPOSITORIES = "failed to garbage collect: failed to mark: filesystem: Path not found: /docker/registry/v2/repositories"
SAYS = "5 blobs marked, 1 blobs and 0 manifests eligible for deletion\\nblob eligible for deletion: sha256:" + "e" * 64


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """SQLite only: the rules here are the service's; the rows they use are tested on both
    stores in tests/integration/store/test_maintenance.py."""
    yield f"sqlite:///{tmp_path / 'store.db'}"


def config(
    tmp_path: Path, *, code: str = f"print('{SAYS}')", drain_timeout: float = 10, upload_idle: int = 1,
    storage: Path | None = None,
) -> gc.GcConfig:
    return gc.GcConfig((sys.executable, "-c", code), storage or tmp_path, drain_timeout, upload_idle, 30, settle=0)


def fails_on_no_storage() -> str:
    """Registry 2.8's collector on a storage nothing was pushed to."""
    return f"import sys; print({NO_REPOSITORIES!r}, file=sys.stderr); sys.exit(1)"


async def test_only_admins_run_it_and_only_with_a_collector(services: Services, tmp_path: Path) -> None:
    with pytest.raises(Forbidden, match="only admins may run garbage collection"):
        await gc.begin_gc(services, ALICE, config(tmp_path), dry_run=True)
    with pytest.raises(Forbidden):
        await gc.gc_status(services, ALICE)
    unconfigured = gc.GcConfig((), None, 1, 1, 1)
    with pytest.raises(Conflict, match=r"set gc\.command"):
        await gc.begin_gc(services, ADMIN, unconfigured, dry_run=False)
    assert (await gc.gc_status(services, ADMIN)).run_id is None


async def test_the_drain_waits_for_a_running_upload_then_collects(services: Services, tmp_path: Path) -> None:
    await services.store.save_upload(UploadState("upload-1", "alice/app", 10, "state"))
    run = await gc.begin_gc(services, ADMIN, config(tmp_path), dry_run=False)
    with pytest.raises(Conflict, match="running already"):
        await gc.begin_gc(services, ADMIN, config(tmp_path), dry_run=True)
    seen: list[tuple[str, str]] = []
    report = await run.complete(lambda phase, text, fraction: seen.append((phase, text)))
    assert ("draining", "waiting for 1 running upload(s) (0 s of 10)") in seen
    assert [p for p, _ in seen].index("collecting") > [p for p, _ in seen].index("draining")
    assert not report.waited_out and report.blobs == 1 and report.reclaimed == 0
    state = await gc.gc_status(services, ADMIN)
    assert state.phase == "done" and not state.refuses_writes(now()) and state.result == report.text()


async def test_the_run_waits_until_every_instance_can_have_seen_each_phase(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gates keep the window per data version, which a MariaDB instance may see `version_lag`
    late: the drain counts uploads, and the collector starts, only once that has passed."""
    lag = 0.3
    monkeypatch.setattr(services.store, "version_lag", lambda: lag)
    seen: dict[str, float] = {}
    counting, collecting = services.store.active_uploads, gc.run_collector

    async def active_uploads(since: int) -> int:
        seen.setdefault("counted", time.monotonic())
        return await counting(since)

    async def run_collector(*args: Any, **kwargs: Any) -> Any:
        seen["collector"] = time.monotonic()
        return await collecting(*args, **kwargs)

    monkeypatch.setattr(services.store, "active_uploads", active_uploads)
    monkeypatch.setattr(gc, "run_collector", run_collector)
    opened = time.monotonic()
    run = await gc.begin_gc(services, ADMIN, config(tmp_path), dry_run=False)
    phases: list[tuple[str, float]] = []
    await run.complete(lambda phase, text, fraction: phases.append((phase, time.monotonic())))
    assert seen["counted"] - opened >= lag
    first_collecting = next(at for phase, at in phases if phase == "collecting")
    assert seen["collector"] - first_collecting >= lag  # settle is 0 here


async def test_the_drain_gives_up_at_its_timeout_and_says_so(services: Services, tmp_path: Path) -> None:
    await services.store.save_upload(UploadState("upload-2", "alice/app", 10, "state"))
    run = await gc.begin_gc(services, ADMIN, config(tmp_path, drain_timeout=1.5, upload_idle=3600), dry_run=False)
    report = await run.complete()
    assert report.waited_out and "cut off" in report.text()


async def test_a_failed_collector_closes_the_window(services: Services, tmp_path: Path) -> None:
    failing = config(tmp_path, code="import sys; print('configuration error: no storage'); sys.exit(1)")
    run = await gc.begin_gc(services, ADMIN, failing, dry_run=False)
    with pytest.raises(Unavailable, match="status 1: configuration error: no storage"):
        await run.complete()
    state = await gc.gc_status(services, ADMIN)
    assert state.phase == "failed" and not state.refuses_writes(now()) and "configuration error" in (state.result or "")


async def test_the_window_refuses_the_gateways_own_deletions(services: Services, upstream: Registry, tmp_path: Path) -> None:
    store = services.store
    await store.create_user("alice", "x")
    await store.create_namespace("alice", None, "public")
    await store.index_push(ManifestRow("alice/app", DIGEST, "application/vnd.oci.image.manifest.v1+json", 5, None, None, None, 1), "v1")
    await gc.begin_gc(services, ADMIN, config(tmp_path), dry_run=False)  # taken, never completed: the window stays open
    recorder = DeleteRecorder("alice", "127.0.0.1", "test")
    with pytest.raises(Unavailable, match="read-only during garbage collection"):
        await delete_manifest(services, Identity("alice"), "alice/app", DIGEST, await upstream(202), recorder)
    assert [t.tag for t in await store.list_tags("alice/app")] == ["v1"]


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
async def test_a_registry_nothing_was_pushed_to_ends_done_with_nothing_collected(
    services: Services, tmp_path: Path, dry_run: bool
) -> None:
    run = await gc.begin_gc(services, ADMIN, config(tmp_path, code=fails_on_no_storage()), dry_run=dry_run)
    report = await run.complete()
    assert (report.blobs, report.manifests, report.reclaimed) == (0, 0, 0)
    state = await gc.gc_status(services, ADMIN)
    assert state.phase == "done" and not state.refuses_writes(now()) and state.result == report.text()


async def test_no_repositories_beside_blobs_in_the_storage_stays_a_failure(services: Services, tmp_path: Path) -> None:
    """The collector's config names another storage than gc.storage_dir, or blobs lost their
    repositories: either way there is something there the collector did not see."""
    (tmp_path / "docker/registry/v2/blobs/sha256").mkdir(parents=True)
    run = await gc.begin_gc(services, ADMIN, config(tmp_path, code=fails_on_no_storage()), dry_run=True)
    with pytest.raises(Unavailable, match="Path not found: /docker/registry/v2/repositories"):
        await run.complete()
    assert (await gc.gc_status(services, ADMIN)).phase == "failed"


async def test_a_missing_storage_directory_fails_saying_so(services: Services, tmp_path: Path) -> None:
    missing = tmp_path / "not-made"
    run = await gc.begin_gc(services, ADMIN, config(tmp_path, code=fails_on_no_storage(), storage=missing), dry_run=False)
    with pytest.raises(Unavailable, match=f"the storage directory {missing} is not a directory"):
        await run.complete()
    state = await gc.gc_status(services, ADMIN)
    assert state.phase == "failed" and not state.refuses_writes(now())


async def test_an_unknown_storage_leaves_the_collectors_failure_as_it_is(services: Services, tmp_path: Path) -> None:
    unknown = gc.GcConfig((sys.executable, "-c", fails_on_no_storage()), None, 10, 1, 30, settle=0)
    run = await gc.begin_gc(services, ADMIN, unknown, dry_run=True)
    with pytest.raises(Unavailable, match=r"status 1: failed to garbage collect: .*repositories$"):
        await run.complete()
