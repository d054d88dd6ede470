"""The write gates' reads (the garbage collection's window, namespace quotas), kept while the
store's data version is unchanged.

Every upload request asked the store for the gc row, and every upload POST for its namespace's
quota: a query each, on requests that change neither. Both are kept with the data version read
*before* the query (as the grant cache does, gateway/auth/grant_cache.py) and served again only
while the version is the same: writes to `maintenance_runs` and `namespace_quotas` change it on
both stores (on MariaDB they bump the change row, gateway/store/versioning.py), so a window
opened or a quota set by any process is seen here as soon as it would have been by a query (on
SQLite at once; on MariaDB within `Store.version_lag` seconds, which the collector waits out
before it relies on every instance having seen its window). When the version cannot be read,
nothing is kept. The row is kept, not the verdict: its lease is judged at each request, so a
window whose holder died closes on time. A namespace's usage, which every push changes, is
never kept (gateway/services/quotas.py reads it when there is a quota).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gateway.store import MaintenanceRun, Store
from gateway.store.maintenance import GC

MAX_KEPT = 4096  # reads kept for one version (the gc row, a quota a namespace); more: start over


class GateReads:
    """One per application; reads of an older data version are never served."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._version: object | None = None
        self._kept: dict[tuple[str, str], Any] = {}
        self.queries = 0  # reads that went to the store (for tests and benchmarks)

    async def _kept_or_read(self, key: tuple[str, str], read: Callable[[], Awaitable[Any]]) -> Any:
        """What `read` answers, kept under the data version read before it; asked again once the
        version moved, and never kept while the version cannot be read."""
        version = self._store.data_version()
        if version is not None and version == self._version and key in self._kept:
            return self._kept[key]
        self.queries += 1
        value = await read()
        if version is None:
            return value
        if version != self._version or len(self._kept) >= MAX_KEPT:
            self._version, self._kept = version, {}
        self._kept[key] = value
        return value

    async def gc_run(self) -> MaintenanceRun | None:
        """The gc row, as `Store.maintenance_run(GC)` would answer now."""
        run: MaintenanceRun | None = await self._kept_or_read(("gc", ""), lambda: self._store.maintenance_run(GC))
        return run

    async def namespace_quota(self, namespace: str) -> int | None:
        """The namespace's quota in bytes, as `Store.namespace_quota` would answer now."""
        quota: int | None = await self._kept_or_read(("quota", namespace), lambda: self._store.namespace_quota(namespace))
        return quota
