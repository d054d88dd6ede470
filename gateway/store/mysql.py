"""MariaDB/MySQL through an aiomysql pool; several gateway instances may share one database."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextvars import ContextVar
from typing import Any

import aiomysql
import pymysql
import pymysql.constants.CLIENT
from yarl import URL

from gateway.store.base import Store, named_to_pyformat
from gateway.store.records import Conflict, StoreUnavailable
from gateway.store.schema import EXACT_COLLATION
from gateway.store.sql import Row

_MIGRATION_LOCK = "portus_gateway_migrate"
_CREATE_TABLE = re.compile(r"\s*CREATE\s+TABLE\b", re.IGNORECASE)


# The store and connection of the transaction the current task is in.
_IN_TRANSACTION: ContextVar[tuple[object, aiomysql.Connection] | None] = ContextVar("mysql_transaction", default=None)


class MySQLStore(Store):
    dialect = "mariadb"
    autoincrement_pk = "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"

    def __init__(self, pool: aiomysql.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url_text: str, *, minsize: int = 1, maxsize: int = 10) -> MySQLStore:
        url = URL(url_text)
        try:
            pool = await aiomysql.create_pool(
                host=url.host or "127.0.0.1", port=url.port or 3306, user=url.user or "root",
                password=url.password or "", db=url.path.strip("/"), autocommit=True,
                charset="utf8mb4", minsize=minsize, maxsize=maxsize, pool_recycle=3600,
                cursorclass=aiomysql.DictCursor,
                # Counts of UPDATEs are rows matched, as on SQLite: by default MariaDB counts rows
                # changed, and an UPDATE that writes the values a row already has would read as
                # "no such row" (a second identical PATCH within the same second was a 404).
                client_flag=pymysql.constants.CLIENT.FOUND_ROWS,
            )
        except (pymysql.err.Error, OSError) as exc:
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

    def _connection(self) -> contextlib.AbstractAsyncContextManager[aiomysql.Connection]:
        """The current transaction's connection, or one from the pool for this statement alone."""
        current = _IN_TRANSACTION.get()
        if current is not None and current[0] is self:
            return contextlib.nullcontext(current[1])
        return self._pool.acquire()  # type: ignore[no-any-return]

    async def fetch_all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        try:
            async with self._connection() as conn, conn.cursor() as cursor:
                await cursor.execute(named_to_pyformat(sql), dict(params or {}))
                return list(await cursor.fetchall())
        except (pymysql.err.Error, OSError) as exc:
            raise StoreUnavailable(str(exc)) from None

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        try:
            async with self._connection() as conn, conn.cursor() as cursor:
                return int(await cursor.execute(named_to_pyformat(sql), dict(params or {})))
        except pymysql.err.IntegrityError as exc:
            raise Conflict(str(exc)) from None
        except (pymysql.err.Error, OSError) as exc:
            raise StoreUnavailable(str(exc)) from None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        current = _IN_TRANSACTION.get()
        if current is not None and current[0] is self:
            yield
            return
        try:
            conn = await self._pool.acquire()
        except (pymysql.err.Error, OSError) as exc:
            raise StoreUnavailable(str(exc)) from None
        joined = _IN_TRANSACTION.set((self, conn))
        try:
            await _guarded(conn.begin())
            try:
                yield
                await _guarded(conn.commit())
            except BaseException:
                with contextlib.suppress(pymysql.err.Error, OSError):
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
    except (pymysql.err.Error, OSError) as exc:
        raise StoreUnavailable(str(exc)) from None
