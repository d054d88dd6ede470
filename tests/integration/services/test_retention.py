"""Retention runs as a service (SQLite: the rows are tested on both stores elsewhere): a run
waits out a garbage collection's window, two runs never overlap, and a dry run plans each
repository with the policy that governs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.services import gc, retention
from gateway.services.context import Services
from gateway.services.errors import Conflict, Forbidden, Unavailable
from gateway.store import ManifestRow
from tests.integration.services.conftest import ADMIN, ALICE


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'store.db'}"


async def test_a_run_is_refused_during_a_gc_window_and_never_overlaps_another(services: Services, tmp_path: Path) -> None:
    with pytest.raises(Forbidden, match="only admins may run retention"):
        await retention.begin_run(services, ALICE, dry_run=True)
    window = gc.GcConfig(("true",), tmp_path, 1, 1, 1)
    collection = await gc.begin_gc(services, ADMIN, window, dry_run=False)
    with pytest.raises(Unavailable, match="read-only during garbage collection"):
        await retention.begin_run(services, ADMIN, dry_run=False)
    await services.store.finish_maintenance("gc", collection.run_id, "done", "ok")
    first = await retention.begin_run(services, ADMIN, dry_run=False)
    with pytest.raises(Conflict, match="going on already"):
        await retention.begin_run(services, ADMIN, dry_run=False)
    report = await first.complete(None, None)  # no policy anywhere: nothing to delete, no registry needed
    assert report.text() == "retention deleted 0 tags and kept 0 in 0 repositories"
    assert (await retention.status(services, ADMIN)).result == report.text()


async def test_a_dry_run_plans_each_repository_with_its_own_policy(services: Services) -> None:
    store = services.store
    await store.create_user("alice", "x")
    for repository, count in (("alice/app-web", 3), ("alice/db", 2), ("alice/app-api", 1)):
        for index in range(count):
            digest = f"sha256:{index:064d}"
            await store.index_push(ManifestRow(repository, digest, "application/vnd.oci.image.manifest.v1+json", 5, None, None, None, 100 + index), f"v{index}")
    await retention.set_policy(services, ALICE, "alice", retention.PolicySpec(keep_last=1))
    await retention.set_policy(services, ALICE, "alice", retention.PolicySpec(keep_last=2, repository_pattern="app-*"))
    plans = {p.repository: (p.policy, [v.tag for v in p.doomed]) for p in await retention.plan_namespace(services, ALICE, "alice")}
    assert plans == {
        "alice/app-api": ("alice --repository app-*", []),
        "alice/app-web": ("alice --repository app-*", ["v0"]),
        "alice/db": ("alice", ["v0"]),
    }
    report = await (await retention.begin_run(services, ADMIN, dry_run=True)).complete(None, None)
    assert sorted(report.deleted) == [("alice/app-web", "v0", "alice --repository app-*"), ("alice/db", "v0", "alice")]
    assert report.kept == 4 and report.repositories == 3
