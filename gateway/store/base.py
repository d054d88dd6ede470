"""The store interface: query mixins over the dialect primitives, plus migrations.

Queries use `:name` parameters; a dialect translates them for its driver. Driver errors are
mapped to the errors of gateway.store.records so callers never import a driver.
"""

from __future__ import annotations

import functools
import re
from abc import abstractmethod
from contextlib import AbstractAsyncContextManager

from gateway.store.access import AccessQueries
from gateway.store.events import EventQueries
from gateway.store.identities import IdentityQueries
from gateway.store.imports import ImportQueries
from gateway.store.index import IndexQueries
from gateway.store.maintenance import MaintenanceQueries
from gateway.store.quotas import QuotaQueries
from gateway.store.records import StoreUnavailable
from gateway.store.schema import MIGRATIONS, sql_for
from gateway.store.sessions import SessionQueries
from gateway.store.sql import now
from gateway.store.tag_deletions import TagDeletionQueries
from gateway.store.uploads import UploadQueries
from gateway.store.users import UserQueries
from gateway.store.webhooks import WebhookQueries


class Store(
    UserQueries, AccessQueries, EventQueries, IndexQueries, WebhookQueries, UploadQueries, SessionQueries, ImportQueries,
    IdentityQueries, TagDeletionQueries, MaintenanceQueries, QuotaQueries,
):
    """One object owns the connections; everything else asks it, never a driver."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def _migration_lock(self) -> AbstractAsyncContextManager[None]:
        """An async context manager that serialises migrations across processes."""

    async def ping(self) -> None:
        await self.fetch_all("SELECT 1 AS one")

    async def applied_migrations(self) -> set[int]:
        try:
            rows = await self.fetch_all("SELECT version FROM schema_migrations")
        except StoreUnavailable:  # a new database: no bookkeeping table yet
            await self.execute(
                "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)"
            )
            rows = []
        return {int(r["version"]) for r in rows}

    async def _holds_a_users_table(self) -> bool:
        """A `users` table before the gateway's first migration is some other application's."""
        try:
            await self.fetch_all("SELECT 1 AS one FROM users LIMIT 1")
        except StoreUnavailable:
            return False
        return True

    def render(self, sql: str) -> str:
        """A migration statement in this dialect's SQL."""
        return sql.format(autoincrement_pk=self.autoincrement_pk)

    async def migrate(self) -> list[int]:
        """Apply the migrations not yet applied, in order; returns the versions applied now."""
        applied_now: list[int] = []
        async with await self._migration_lock():
            done = await self.applied_migrations()
            if not done and await self._holds_a_users_table():
                raise StoreUnavailable(
                    "the database holds another application's tables (Portus's, with MARIADB_DATABASE unchanged?): "
                    "give the gateway a database of its own and import Portus's with `import portus --from`"
                )
            for version, statements in MIGRATIONS:
                if version in done:
                    continue
                for statement in statements:
                    sql = sql_for(statement, self.dialect)
                    if sql is not None:
                        await self.execute(self.render(sql))
                await self.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (:version, :at)",
                    {"version": version, "at": now()},
                )
                applied_now.append(version)
        return applied_now


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")


def named_to_pyformat(sql: str) -> str:
    """`:name` -> `%(name)s` for drivers that use the pyformat style."""
    return _NAMED.sub(r"%(\1)s", sql)


@functools.lru_cache(maxsize=1024)
def named_to_qmark(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` -> `?`, with the names in the order their values are to be given."""
    return _NAMED.sub("?", sql), tuple(_NAMED.findall(sql))
