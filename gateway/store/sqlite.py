"""The embedded store: one aiosqlite connection (its own thread), WAL so the CLI can write alongside."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiosqlite

from gateway.private_files import private_dir, private_file
from gateway.store.base import Store, named_to_qmark
from gateway.store.records import Conflict, NoSuchTable, SettledBatch, StoreUnavailable
from gateway.store.sql import Row
from gateway.store.versioning import NO_CHANGE, READ, versions_read

_SETTLED_BATCH = """
WITH batch AS (SELECT seq, created_at, body FROM events WHERE seq > :seq ORDER BY seq LIMIT :limit)
SELECT group_concat(seq) AS seqs, group_concat(body) AS bodies FROM (
    SELECT seq, body FROM batch
    WHERE seq < COALESCE((SELECT MIN(seq) FROM batch WHERE created_at >= :settled), 9223372036854775807)
    ORDER BY seq
)"""


def _make_private(path: str) -> None:
    """The database, its WAL files and their directory readable by this user alone."""
    private_dir(Path(path).parent, tighten=False)
    for name in (path, path + "-wal", path + "-shm"):
        if name == path or os.path.exists(name):
            private_file(Path(name))


# How long a read of change_version waits on a busy database (only while a WAL restarts or is
# recovered): it runs on the event loop, and a failed read only means nothing is cached now.
_READ_TIMEOUT = 0.05

# The store whose transaction the current task is in (SQLite has one connection to share).
_IN_TRANSACTION: ContextVar[object | None] = ContextVar("sqlite_transaction", default=None)


class SQLiteStore(Store):
    dialect = "sqlite"
    autoincrement_pk = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self, connection: aiosqlite.Connection, path: str = ":memory:") -> None:
        super().__init__()
        self._db = connection
        # change_version is read through a connection of its own, opened at the first read.
        self._reader_uri = "" if path == ":memory:" else Path(path).absolute().as_uri() + "?mode=ro"
        self._shm: int | None = None  # the WAL index, read for its change counter
        self._shm_path = "" if path == ":memory:" else path + "-shm"
        self._header = b""  # the WAL index header when change_version was last read
        self._versions: tuple[int, int | None] | None = None  # change_version's rows 1 and 2 as then read
        self._reader: sqlite3.Connection | None = None  # for change_version alone
        self._changes = NO_CHANGE  # the most the open transaction changed (versioning.decision_change)
        # Held for a whole transaction: the one connection carries every task's statements, and
        # another task's must neither join the transaction nor see what it has not committed.
        self._transaction_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> SQLiteStore:
        if path != ":memory:":
            try:
                await asyncio.to_thread(_make_private, path)
            except OSError as exc:
                raise StoreUnavailable(f"cannot open SQLite database {path}: {exc.strerror or exc}") from None
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
            connection.row_factory = sqlite3.Row
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA busy_timeout=5000")
            await connection.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite database {path}: {exc}") from None
        return cls(connection, path)

    def _on_duplicate(self, keys: tuple[str, ...], updates: tuple[str, ...]) -> str:
        return f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates)

    def data_version(self) -> object | None:
        """The change_version row, bumped with each decision-changing commit of any process
        (the CLI, a sibling worker) in that commit's transaction: bookkeeping commits (events,
        pull times, sessions) leave it alone. Read only when the WAL index header moved since
        the last read: the first 48 bytes of the -shm file, which SQLite's own readers check,
        with a counter bumped on every commit and salts renewed when the WAL restarts. Mostly one
        small read from the page cache; after a commit anywhere, one indexed read through a
        read-only connection of its own (a WAL reader waits for no writer). The header is read
        before the row, so a commit between the two is read again at the next call, never
        missed; this process's own commits move the header too, so they are seen at once.
        None when either read fails: callers then cache nothing."""
        versions = self._current_versions()
        return None if versions is None else versions[0]

    def access_version(self) -> object | None:
        """change_version's row 2, read as `data_version` reads row 1 (and with it)."""
        versions = self._current_versions()
        return None if versions is None else versions[1]

    def _current_versions(self) -> tuple[int, int | None] | None:
        if not self._shm_path:
            return None
        try:
            if self._shm is None:
                self._shm = os.open(self._shm_path, os.O_RDONLY | os.O_CLOEXEC)
            header = os.pread(self._shm, 48, 0)
        except OSError:
            return None
        if header != self._header:
            versions = self._read_versions()
            if versions is None:
                return None
            self._header, self._versions = header, versions
        return self._versions

    def _read_versions(self) -> tuple[int, int | None] | None:
        """The change_version rows, read synchronously: two indexed rows of a WAL snapshot."""
        try:
            if self._reader is None:
                self._reader = sqlite3.connect(
                    self._reader_uri, uri=True, isolation_level=None, timeout=_READ_TIMEOUT, check_same_thread=False
                )
            rows = self._reader.execute(READ).fetchall()  # to the end: no snapshot stays open
        except sqlite3.Error:
            return None
        return versions_read([{"id": row[0], "version": row[1]} for row in rows])

    async def fetch_all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """All rows in one turn of the connection's thread. Run as execute, then fetchall, a
        statement stays open between the two, and a write queued in between finds the connection
        in a read transaction that another process's commit made stale: SQLite refuses it at once
        ("database is locked"), busy_timeout or not."""
        if self._transaction_lock.locked() and _IN_TRANSACTION.get() is not self:
            async with self._transaction_lock:
                return await self._fetch_all(sql, params)
        return await self._fetch_all(sql, params)

    async def _fetch_all(self, sql: str, params: Mapping[str, Any] | None) -> list[Row]:
        try:
            return [dict(row) for row in await self._db.execute_fetchall(*_positional(sql, params))]
        except sqlite3.Error as exc:
            raise StoreUnavailable(str(exc)) from None

    async def settled_batch(self, seq: int, settled_before_ms: int, limit: int) -> SettledBatch:
        """The batch built by SQLite in one step: the rows of `events_after` would each take the
        GIL back from the event loop in the connection's thread (under load, a switch of thread
        or two per row), where one aggregate row takes it once. The ordered subquery is not
        flattened into an aggregate, so group_concat sees the rows in seq order."""
        row = await self.fetch_one(_SETTLED_BATCH, {"seq": seq, "settled": settled_before_ms, "limit": limit})
        if row is None or not row["seqs"]:
            return SettledBatch((), "")
        return SettledBatch(tuple(int(s) for s in str(row["seqs"]).split(",")), str(row["bodies"]))

    async def _execute(self, sql: str, params: Mapping[str, Any] | None) -> int:
        if self._transaction_lock.locked() and _IN_TRANSACTION.get() is not self:
            async with self._transaction_lock:
                return await self._run(sql, params)
        return await self._run(sql, params)

    def _changed_decisions(self, kind: int) -> None:
        self._changes = max(self._changes, kind)

    async def _run(self, sql: str, params: Mapping[str, Any] | None) -> int:
        try:
            # One turn of the thread: the statement has run to its end, nothing is left to close.
            return (await self._db.execute(*_positional(sql, params))).rowcount
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from None
        except sqlite3.Error as exc:
            if str(exc).startswith("no such table"):
                raise NoSuchTable(str(exc)) from None
            raise StoreUnavailable(str(exc)) from None

    def in_transaction(self) -> bool:
        return _IN_TRANSACTION.get() is self

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """BEGIN IMMEDIATE takes the database's write lock at once (waiting up to busy_timeout
        for another process's), so a transaction never fails half-way for want of it. A
        transaction that changed a decision bumps the change version just before it commits."""
        if _IN_TRANSACTION.get() is self:
            yield
            return
        async with self._transaction_lock:
            joined = _IN_TRANSACTION.set(self)
            self._changes = NO_CHANGE
            try:
                await self._run("BEGIN IMMEDIATE", None)
                try:
                    yield
                    if self._changes != NO_CHANGE:
                        await self._bump_change_version(self._changes)
                    await self._run("COMMIT", None)
                except BaseException:
                    await asyncio.shield(self._rollback())
                    raise
            finally:
                _IN_TRANSACTION.reset(joined)

    async def _rollback(self) -> None:
        with contextlib.suppress(StoreUnavailable):
            await self._run("ROLLBACK", None)

    async def _migration_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self.transaction()

    async def close(self) -> None:
        if self._shm is not None:
            os.close(self._shm)
            self._shm = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await self._db.close()


def _positional(sql: str, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """The statement with `?` for each `:name`, and the values in that order. pysqlite binds a
    named parameter by asking SQLite for its name and looking it up, which cost about 16 us an
    event in the multi-row INSERT of pull events; positional values cost next to nothing."""
    positional, names = named_to_qmark(sql)
    values = params or {}
    return positional, [values[name] for name in names]
