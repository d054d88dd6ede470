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

from gateway.store import MaintenanceRun, Store
from gateway.store.maintenance import GC

MAX_QUOTAS = 4096  # namespaces whose quota is kept for one version; more: the table starts over


class GateReads:
    """One per application; entries of an older data version are never served."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._gc: tuple[object, MaintenanceRun | None] | None = None
        self._quotas_version: object | None = None
        self._quotas: dict[str, int | None] = {}
        self.queries = 0  # reads that went to the store (for tests and benchmarks)

    async def gc_run(self) -> MaintenanceRun | None:
        """The gc row, as `Store.maintenance_run(GC)` would answer now."""
        version = self._store.data_version()
        kept = self._gc
        if version is not None and kept is not None and kept[0] == version:
            return kept[1]
        self.queries += 1
        run = await self._store.maintenance_run(GC)
        if version is not None:
            self._gc = (version, run)
        return run

    async def namespace_quota(self, namespace: str) -> int | None:
        """The namespace's quota in bytes, as `Store.namespace_quota` would answer now."""
        version = self._store.data_version()
        if version is not None and version == self._quotas_version and namespace in self._quotas:
            return self._quotas[namespace]
        self.queries += 1
        quota = await self._store.namespace_quota(namespace)
        if version is None:
            return quota
        if version != self._quotas_version or len(self._quotas) >= MAX_QUOTAS:
            self._quotas_version, self._quotas = version, {}
        self._quotas[namespace] = quota
        return quota
