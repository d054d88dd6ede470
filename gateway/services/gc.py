"""Blob garbage collection in a maintenance window, for every instance on one store.

Registry 2.8's collector must run while nothing writes: a blob uploaded during its sweep, not
yet named by a manifest, is deleted under the push. So a run (admins only: the CLI, the API,
the web UI or `gc.schedule`) goes through these phases, each noted in the store's
`maintenance_runs` row that every instance reads:

1. `draining`: the write window opens. Each instance looks at the row on every write request
   (gateway/registry/write_gate.py; kept per data version, so seen by every instance within the
   store's `version_lag`, which the run waits out first): new upload sessions and deletes get
   503 `UNAVAILABLE` with `Retry-After`; chunks of uploads already open and manifest PUTs still
   pass, so pushes under way can finish. The run waits until no upload moved for
   `gc.upload_idle` seconds, or for `gc.drain_timeout` at most.
2. `collecting`: every write is refused. After a moment for requests that passed the gate
   before to reach the registry (and `version_lag` for every instance to see the phase), the
   storage is measured and `gc.command` runs.
3. `measuring`: the storage is measured again; the window closes, the report is kept in the
   row (and shown by the API and UI until the next run).

On a registry no blob was ever pushed to, the run ends `done` with nothing collected (registry
2.8's collector fails there; see `_phases`).

The holder renews its lease every few seconds; if it dies, the lease (and the window) runs
out by itself within `LEASE_SECONDS`. A dry run opens no window: the collector only lists
what it would delete, and the report says how many bytes that is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.auth.permissions import Actor
from gateway.config import Settings
from gateway.ops.collector import CollectorFailed, blob_bytes, disk_usage, holds_no_blobs, registry_root, run_collector
from gateway.services.context import Services
from gateway.services.errors import Conflict, Unavailable
from gateway.services.guards import require_admin
from gateway.store import MaintenanceRun, Store, StoreError
from gateway.store.maintenance import COLLECTING, DONE, DRAINING, FAILED, GC, MEASURING
from gateway.store.sql import now

log = logging.getLogger(__name__)

KIND = GC
LEASE_SECONDS = 30
RENEW_SECONDS = 5.0
SETTLE_SECONDS = 1.0
_DRAIN_POLL = 0.5

# phase, what is happening, the fraction done when known
Reporter = Callable[[str, str, float | None], None]


@dataclass(frozen=True)
class GcConfig:
    """What a run needs from the settings."""

    command: tuple[str, ...]
    storage_dir: Path | None
    drain_timeout: float
    upload_idle: int
    timeout: float
    settle: float = SETTLE_SECONDS  # for requests that passed the gate before `collecting` to reach the registry

    @classmethod
    def of(cls, settings: Settings) -> GcConfig:
        argv = settings.gc_argv
        storage = settings.gc_storage_dir or settings.upstream_storage_dir or registry_root(argv)
        return cls(argv, storage, settings.gc_drain_timeout, settings.gc_upload_idle, settings.gc_timeout)


@dataclass(frozen=True)
class GcReport:
    dry_run: bool
    blobs: int
    manifests: int
    reclaimed: int | None  # bytes; None when the storage is not a directory here
    waited_out: bool  # the drain timeout passed with uploads still moving

    def text(self) -> str:
        size = "size unknown (no storage directory)" if self.reclaimed is None else f"{self.reclaimed} bytes"
        if self.dry_run:
            return f"dry run: {self.blobs} blobs ({size}) and {self.manifests} untagged manifests would be deleted"
        late = "; uploads still moving when the drain timeout passed were cut off" if self.waited_out else ""
        return f"deleted {self.blobs} blobs and {self.manifests} untagged manifests, reclaimed {size}{late}"


async def check_writable(store: Store) -> None:
    """Refuse (Unavailable) a deletion the gateway itself would make in the registry (a manifest
    deleted from the UI, a purge, retention) while the write window is open, as the proxy
    refuses the clients' own."""
    run = await store.maintenance_run(KIND)
    if run is not None and run.refuses_writes(now()):
        raise Unavailable("the registry is read-only during garbage collection; try again in a few minutes")


def holder_name() -> str:
    return f"{socket.gethostname()[:200]}/{os.getpid()}"


async def gc_status(services: Services, actor: Actor) -> MaintenanceRun:
    require_admin(actor, "see garbage collection")
    run = await services.store.maintenance_run(KIND)
    if run is None:  # only before migration 19, which every process applies at start
        raise Unavailable("the store has no maintenance table yet; run `portus-gateway migrate`")
    return run


async def begin_gc(
    services: Services, actor: Actor, config: GcConfig, *, dry_run: bool, holder: str | None = None,
    slot: int | None = None,
) -> GcRun:
    """Take the store's gc row (Conflict while a run holds it) and, unless a dry run, open the
    write window. `slot`: a scheduled run, taken only if none started since that moment."""
    require_admin(actor, "run garbage collection")
    if not config.command:  # a setting, not a passing failure: nothing to retry
        raise Conflict("no collector is configured: set gc.command (GATEWAY_GC_COMMAND)")
    run_id = uuid.uuid4().hex
    taken = await services.store.take_maintenance(
        KIND, run_id, holder or holder_name(), actor.name, dry_run=dry_run, write_window=not dry_run,
        phase=COLLECTING if dry_run else DRAINING, lease_seconds=LEASE_SECONDS, not_started_since=slot,
    )
    if not taken:
        raise Conflict("a garbage collection is running already (or this scheduled one ran)")
    log.info("garbage collection %s started by %s%s", run_id[:8], actor.name, " (dry run)" if dry_run else "")
    return GcRun(services.store, config, run_id, dry_run)


class GcRun:
    """One run, taken; `complete` carries it through its phases and always ends the window."""

    def __init__(self, store: Store, config: GcConfig, run_id: str, dry_run: bool) -> None:
        self.run_id = run_id
        self.dry_run = dry_run
        self._store = store
        self._config = config
        self._phase = COLLECTING if dry_run else DRAINING
        self._progress = ""
        self._report: Reporter = lambda phase, text, fraction: None

    def _note(self, phase: str, progress: str, fraction: float | None = None) -> None:
        self._phase, self._progress = phase, progress
        self._report(phase, progress, fraction)

    async def _renew(self) -> None:
        await self._store.renew_maintenance(
            KIND, self.run_id, self._phase, self._progress, LEASE_SECONDS, write_window=not self.dry_run
        )

    async def _renewing(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            with contextlib.suppress(StoreError):  # a hiccup: the next renewal tries again
                await self._renew()

    async def complete(self, report: Reporter | None = None) -> GcReport:
        """Run to the end; Unavailable when the collector failed (the window is closed either way)."""
        if report is not None:
            self._report = report
        renewer = asyncio.create_task(self._renewing(), name=f"gc-renew-{self.run_id[:8]}")
        try:
            result = await self._phases()
        except CollectorFailed as exc:
            await self._finish(FAILED, str(exc))
            raise Unavailable(str(exc)) from None
        except BaseException:
            with contextlib.suppress(StoreError, asyncio.CancelledError):
                await asyncio.shield(self._finish(FAILED, "stopped before it ended"))
            raise
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        await self._finish(DONE, result.text())
        return result

    async def _finish(self, phase: str, result: str) -> None:
        await self._store.finish_maintenance(KIND, self.run_id, phase, result)
        self._note(phase, result)
        log.info("garbage collection %s %s: %s", self.run_id[:8], phase, result)

    async def _phases(self) -> GcReport:
        config = self._config
        waited_out = False if self.dry_run else await self._drain()
        self._note(COLLECTING, "measuring the storage" if config.storage_dir else "starting the collector")
        await self._renew()
        if not self.dry_run:
            await asyncio.sleep(config.settle + self._store.version_lag())
        root = config.storage_dir if config.storage_dir is not None and config.storage_dir.is_dir() else None
        before = None if root is None or self.dry_run else await asyncio.to_thread(disk_usage, root)
        try:
            collected = await run_collector(
                config.command, dry_run=self.dry_run, timeout=config.timeout,
                progress=lambda tally: self._note(COLLECTING, tally.text(), tally.fraction()),
            )
        except CollectorFailed as exc:
            # Registry 2.8's collector fails on a storage nothing was pushed to. That is "nothing
            # to collect" only when the storage directory is there without blobs too: a collector
            # config naming another storage, or a storage directory missing, stays an error.
            if not exc.no_storage or config.storage_dir is None:
                raise
            if root is None:
                raise CollectorFailed(f"{exc} (the storage directory {config.storage_dir} is not a directory)") from None
            if not await asyncio.to_thread(holds_no_blobs, root):
                raise
            log.info("garbage collection %s: no blob was ever pushed, nothing to collect", self.run_id[:8])
            return GcReport(self.dry_run, 0, 0, 0, waited_out)
        tally = collected.tally
        if root is None:
            reclaimed = None
        elif self.dry_run:
            reclaimed = await asyncio.to_thread(blob_bytes, root, collected.eligible)
        else:
            self._note(MEASURING, "measuring the storage")
            await self._renew()
            after = await asyncio.to_thread(disk_usage, root)
            reclaimed = max((before or 0) - after, 0)
        return GcReport(self.dry_run, tally.blobs_listed, tally.manifests_eligible or 0, reclaimed, waited_out)

    async def _drain(self) -> bool:
        """Wait for running uploads to stop moving; True when the drain timeout cut the wait."""
        config = self._config
        opened = time.monotonic()
        deadline = opened + config.drain_timeout
        self._note(DRAINING, "pushes paused; looking for running uploads")
        await asyncio.sleep(self._store.version_lag())  # until every instance refuses new uploads
        while True:
            moving = await self._store.active_uploads(now() - config.upload_idle)
            waited = time.monotonic() - opened
            if moving == 0:
                return False
            if time.monotonic() >= deadline:
                return True
            self._note(DRAINING, f"waiting for {moving} running upload(s) ({int(waited)} s of {config.drain_timeout:g})")
            await self._renew()
            await asyncio.sleep(_DRAIN_POLL)

