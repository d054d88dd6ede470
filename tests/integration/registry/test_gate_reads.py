"""The write gates' reads kept per data version (gateway/registry/gate_reads.py), on both stores,
with two stores on one database as two instances: a window opened, renewed or closed and a quota
set or lifted by the other process are seen at its next version poll; an unchanged store is not
asked again; the uploads and events a push writes do not end what is kept on MariaDB; and
nothing is kept while the version cannot be vouched for."""

from __future__ import annotations

import asyncio

import pytest

import gateway.store.mysql
from gateway.registry.gate_reads import GateReads
from gateway.store import Store, UploadState
from gateway.store.maintenance import COLLECTING, DRAINING, GC
from gateway.store.sql import now


async def _refuses(reads: GateReads, store: Store) -> bool:
    await store.poll_version()  # what the change watch does every 0.25 s
    run = await reads.gc_run()
    return run is not None and run.refuses_writes(now())


async def _open_window(store: Store, run_id: str = "run-1") -> None:
    assert await store.take_maintenance(
        GC, run_id, "elsewhere/1", "admin", dry_run=False, write_window=True, phase=DRAINING, lease_seconds=30
    )


async def test_a_window_opened_and_closed_elsewhere_is_seen_at_the_next_poll(two: tuple[Store, Store]) -> None:
    writer, reader = two
    reads = GateReads(reader)
    assert not await _refuses(reads, reader)
    await _open_window(writer)
    assert await _refuses(reads, reader)
    assert await writer.renew_maintenance(GC, "run-1", COLLECTING, "", 30, write_window=True)
    await reader.poll_version()
    assert (await reads.gc_run()).phase == COLLECTING  # type: ignore[union-attr]
    await writer.finish_maintenance(GC, "run-1", "done", "deleted 0 blobs")
    assert not await _refuses(reads, reader)


async def test_a_kept_window_closes_when_its_lease_runs_out(two: tuple[Store, Store]) -> None:
    """The row is kept, not the verdict: a holder that died leaves a row nobody rewrites."""
    writer, reader = two
    reads = GateReads(reader)
    assert await writer.take_maintenance(
        GC, "run-2", "dead/1", "admin", dry_run=False, write_window=True, phase=DRAINING, lease_seconds=0
    )
    await reader.poll_version()
    run = await reads.gc_run()
    assert run is not None and run.refuses_writes(run.lease_until)
    assert not run.refuses_writes(run.lease_until + 1)


async def test_a_quota_set_or_lifted_elsewhere_is_seen_at_the_next_poll(two: tuple[Store, Store]) -> None:
    writer, reader = two
    reads = GateReads(reader)
    await reader.poll_version()
    assert await reads.namespace_quota("team") is None
    await writer.set_namespace_quota("team", 1024)
    await reader.poll_version()
    assert await reads.namespace_quota("team") == 1024
    assert await reads.namespace_quota("other") is None
    await writer.set_namespace_quota("team", None)
    await reader.poll_version()
    assert await reads.namespace_quota("team") is None


async def test_an_unchanged_store_is_not_asked_again(two: tuple[Store, Store]) -> None:
    _, reader = two
    reads = GateReads(reader)
    await reader.poll_version()
    await reads.gc_run()
    await reads.namespace_quota("team")
    asked = reads.queries
    for _ in range(3):
        await reader.poll_version()
        await reads.gc_run()
        await reads.namespace_quota("team")
    assert reads.queries == asked == 2


async def test_what_a_push_writes_keeps_the_reads(two: tuple[Store, Store]) -> None:
    """Upload states (every PATCH) are no decision: they must not move the version on either
    store, or every push would ask again."""
    writer, reader = two
    reads = GateReads(reader)
    await reader.poll_version()
    await reads.gc_run()
    await reads.namespace_quota("team")
    await writer.save_upload(UploadState("upload-1", "team/app", 10, "state"))
    await writer.save_upload(UploadState("upload-1", "team/app", 20, "state2"))
    await writer.forget_upload("upload-1")
    await reader.poll_version()
    await reads.gc_run()
    await reads.namespace_quota("team")
    assert reads.queries == 2


async def test_nothing_is_kept_while_mariadb_cannot_vouch_for_the_version(
    on_mariadb: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, reader = on_mariadb
    reads = GateReads(reader)
    await reads.gc_run()  # no poll yet
    await reads.gc_run()
    assert reads.queries == 2
    await reader.poll_version()
    monkeypatch.setattr(gateway.store.mysql, "FRESH_SECONDS", 0.0)
    await asyncio.sleep(0.01)
    await _open_window(writer)  # and no poll since: the gate must ask
    run = await reads.gc_run()
    assert run is not None and run.refuses_writes(now()) and reads.queries == 3
