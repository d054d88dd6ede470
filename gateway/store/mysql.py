"""MariaDB/MySQL through an asyncmy pool; several gateway instances may share one database.

asyncmy, not aiomysql: the same protocol and conversions (both follow PyMySQL), but its packets and
rows are decoded in compiled code, a third of aiomysql's CPU per statement (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import asyncmy
from asyncmy import errors as driver
from asyncmy.connection import Connection
from asyncmy.constants import CLIENT
from asyncmy.cursors import DictCursor
from asyncmy.pool import Pool
from yarl import URL

from gateway.store.base import Store, named_to_pyformat
from gateway.store.records import Conflict, Deadlock, NoSuchTable, StoreUnavailable
from gateway.store.schema import EXACT_COLLATION
from gateway.store.sql import Row
from gateway.store.versioning import ACCESS, NO_CHANGE, READ, versions_read

_MIGRATION_LOCK = "portus_gateway_migrate"
_NO_SUCH_TABLE = 1146  # ER_NO_SUCH_TABLE
_CREATE_TABLE = re.compile(r"\s*CREATE\s+TABLE\b", re.IGNORECASE)


# A polled version is trusted this long after the poll that read it began: a change committed
# elsewhere just after that read is then at most this old when caches stop trusting it (the
# promise is 1 s). Polls come every `changes.poll_seconds` (at most 0.4 s), so this only runs
# out when polls fail or stall, and then nothing is cached until one succeeds.
FRESH_SECONDS = 0.8


@dataclass
class _Transaction:
    store: object
    conn: Connection
    changes: int = NO_CHANGE  # the most it changed of cached decisions (versioning.decision_change)


# The transaction the current task is in.
_IN_TRANSACTION: ContextVar[_Transaction | None] = ContextVar("mysql_transaction", default=None)


class MySQLStore(Store):
    dialect = "mariadb"
    autoincrement_pk = "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"

    def __init__(self, pool: Pool) -> None:
        super().__init__()
        self._pool = pool
        self._polled: int | None = None  # change_version's row 1 as last read
        self._polled_access: int | None = None  # its row 2 (none before migration 28)
        self._polled_at = 0.0  # monotonic time that read began
        self._local_changes = 0  # decision-changing commits of this process since it opened
        self._local_access_changes = 0  # of those, the access-changing ones

    @classmethod
    async def open(cls, url_text: str, *, minsize: int = 1, maxsize: int = 10) -> MySQLStore:
        url = URL(url_text)
        try:
            pool = await asyncmy.create_pool(
                host=url.host or "127.0.0.1", port=url.port or 3306, user=url.user or "root",
                password=url.password or "", database=url.path.strip("/"), autocommit=True,
                charset="utf8mb4", minsize=minsize, maxsize=maxsize, pool_recycle=3600,
                cursor_cls=DictCursor,
                # Counts of UPDATEs are rows matched, as on SQLite: by default MariaDB counts rows
                # changed, and an UPDATE that writes the values a row already has would read as
                # "no such row" (a second identical PATCH within the same second was a 404).
                client_flag=CLIENT.FOUND_ROWS,
            )
        except (driver.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot connect to MariaDB at {url.host}:{url.port or 3306}: {exc}") from None
        return cls(pool)

    def _on_duplicate(self, keys: tuple[str, ...], updates: tuple[str, ...]) -> str:
        return " ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = VALUES({c})" for c in updates)

    def render(self, sql: str) -> str:
        """...and a table a migration creates compares its text exactly, whatever the database
        default this connection saw when it opened (an ALTER DATABASE reaches new connections only)."""
        rendered = super().render(sql)
        if _CREATE_TABLE.match(rendered) and "COLLATE" not in rendered.upper():
            rendered += f" DEFAULT CHARSET=utf8mb4 COLLATE={EXACT_COLLATION}"
        return rendered

    def data_version(self) -> object | None:
        """The change_version row as last polled, and this process's own decision-changing
        commits since (they count at once here; other processes see them at their next poll).
        None until a poll succeeded, or when the last one began too long ago to vouch for now."""
        return self._vouched(self._polled, self._local_changes)

    def access_version(self) -> object | None:
        """The same for the access-changing commits alone (change_version's row 2)."""
        return self._vouched(self._polled_access, self._local_access_changes)

    def _vouched(self, polled: int | None, local: int) -> object | None:
        if polled is None or time.monotonic() - self._polled_at > FRESH_SECONDS:
            return None
        return (polled, local)

    def version_lag(self) -> float:
        return FRESH_SECONDS

    async def poll_version(self) -> None:
        began = time.monotonic()
        versions = versions_read(await self.fetch_all(READ))
        if versions is None:
            raise StoreUnavailable("the change_version row is missing: run `portus-gateway migrate`")
        (self._polled, self._polled_access), self._polled_at = versions, began

    def in_transaction(self) -> bool:
        return self._current() is not None

    def _current(self) -> _Transaction | None:
        current = _IN_TRANSACTION.get()
        return current if current is not None and current.store is self else None

    def _connection(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        """The current transaction's connection, or one from the pool for this statement alone."""
        current = self._current()
        if current is not None:
            return contextlib.nullcontext(current.conn)
        return self._pool.acquire()

    async def fetch_all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        try:
            async with self._connection() as conn, conn.cursor() as cursor:
                await cursor.execute(named_to_pyformat(sql), dict(params or {}))
                return list(await cursor.fetchall())
        except (driver.Error, OSError) as exc:
            raise unavailable(exc) from None

    def _changed_decisions(self, kind: int) -> None:
        current = self._current()
        if current is not None:
            current.changes = max(current.changes, kind)

    async def _execute(self, sql: str, params: Mapping[str, Any] | None) -> int:
        try:
            async with self._connection() as conn, conn.cursor() as cursor:
                return int(await cursor.execute(named_to_pyformat(sql), dict(params or {})))
        except driver.IntegrityError as exc:
            raise Conflict(str(exc)) from None
        except (driver.Error, OSError) as exc:
            raise unavailable(exc) from None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """...bumping the change version last, just before the commit, when a statement in it
        changed a decision."""
        if self._current() is not None:
            yield
            return
        try:
            conn = await self._pool.acquire()
        except (driver.Error, OSError) as exc:
            raise unavailable(exc) from None
        current = _Transaction(self, conn)
        joined = _IN_TRANSACTION.set(current)
        try:
            await _guarded(conn.begin())
            try:
                yield
                if current.changes != NO_CHANGE:
                    await self._bump_change_version(current.changes)
                await _guarded(conn.commit())
                if current.changes != NO_CHANGE:
                    self._local_changes += 1
                    self._local_access_changes += current.changes == ACCESS
            except BaseException:
                with contextlib.suppress(driver.Error, OSError):
                    await asyncio.shield(conn.rollback())
                raise
        finally:
            _IN_TRANSACTION.reset(joined)
            self._pool.release(conn)

    async def _migration_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
        @contextlib.asynccontextmanager
        async def lock() -> AsyncIterator[None]:
            async with self._pool.acquire() as conn, conn.cursor() as cursor:
                await cursor.execute("SELECT GET_LOCK(%s, 60) AS got", (_MIGRATION_LOCK,))
                row = await cursor.fetchone()
                if not row or row["got"] != 1:
                    raise StoreUnavailable("timed out waiting for another instance's migration")
                try:
                    yield
                finally:
                    await cursor.execute("SELECT RELEASE_LOCK(%s)", (_MIGRATION_LOCK,))

        return lock()

    async def close(self) -> None:
        self._pool.close()
        await self._pool.wait_closed()


async def _guarded(step: Awaitable[None]) -> None:
    try:
        await step
    except (driver.Error, OSError) as exc:
        raise unavailable(exc) from None


_DEADLOCK, _LOCK_WAIT_TIMEOUT = 1213, 1205


def unavailable(exc: driver.Error | OSError) -> StoreUnavailable:
    """The store error for a driver error: a Deadlock where running the transaction again helps."""
    if isinstance(exc, driver.OperationalError) and exc.args and exc.args[0] in (_DEADLOCK, _LOCK_WAIT_TIMEOUT):
        return Deadlock(str(exc))
    if isinstance(exc, driver.ProgrammingError) and exc.args and exc.args[0] == _NO_SUCH_TABLE:
        return NoSuchTable(str(exc))
    return StoreUnavailable(str(exc))
