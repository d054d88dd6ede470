"""The maintenance row every instance shares: one run of a kind at a time, a lease that runs
out when its holder dies (and the write window with it), a scheduled slot taken once."""

from __future__ import annotations

from gateway.store import Store
from gateway.store.maintenance import COLLECTING, DONE, DRAINING, GC
from gateway.store.sql import now


async def test_one_run_at_a_time_a_lease_that_runs_out_and_a_slot_taken_once(store: Store) -> None:
    # A scheduled slot is taken once.
    slot = now() - 10
    assert await store.take_maintenance(GC, "a", "host/1", "(schedule)", dry_run=False, write_window=True, phase=DRAINING, lease_seconds=30, not_started_since=slot)
    await store.finish_maintenance(GC, "a", DONE, "ok")
    assert not await store.take_maintenance(GC, "b", "host/2", "(schedule)", dry_run=False, write_window=True, phase=DRAINING, lease_seconds=30, not_started_since=slot)
    assert await store.take_maintenance(GC, "c", "host/2", "root", dry_run=False, write_window=True, phase=DRAINING, lease_seconds=30)
    await store.finish_maintenance(GC, "c", DONE, "ok")

    assert await store.take_maintenance(GC, "run-1", "host/1", "root", dry_run=False, write_window=True, phase=DRAINING, lease_seconds=30)
    assert not await store.take_maintenance(GC, "run-2", "host/2", "root", dry_run=False, write_window=True, phase=DRAINING, lease_seconds=30)
    run = await store.maintenance_run(GC)
    assert run is not None and run.run_id == "run-1" and run.refuses_writes(now()) and run.phase == DRAINING
    assert await store.renew_maintenance(GC, "run-1", COLLECTING, "blob 1 of 2", 30, write_window=True)
    assert not await store.renew_maintenance(GC, "run-2", COLLECTING, None, 30, write_window=True)
    await store.finish_maintenance(GC, "run-1", DONE, "deleted 2 blobs")
    ended = await store.maintenance_run(GC)
    assert ended is not None and not ended.live(now()) and not ended.refuses_writes(now())
    assert (ended.phase, ended.result, ended.progress) == (DONE, "deleted 2 blobs", None)
    assert await store.take_maintenance(GC, "run-2", "host/2", "root", dry_run=True, write_window=False, phase=COLLECTING, lease_seconds=30)
    await store.finish_maintenance(GC, "run-2", DONE, "dry run")

    # A holder that died lets its lease, and the write window with it, run out.
    assert await store.take_maintenance(GC, "crashed", "host/1", "root", dry_run=False, write_window=True, phase=COLLECTING, lease_seconds=-1)
    run = await store.maintenance_run(GC)
    assert run is not None and not run.live(now()) and not run.refuses_writes(now())
    assert run.shown_phase(now()) == "interrupted"
    assert await store.take_maintenance(GC, "next", "host/2", "root", dry_run=False, write_window=True, phase=DRAINING, lease_seconds=30)
    assert not await store.renew_maintenance(GC, "crashed", COLLECTING, None, 30, write_window=True)
    await store.finish_maintenance(GC, "next", DONE, "ok")
