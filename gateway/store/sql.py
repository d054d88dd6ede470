"""The primitives every store dialect provides; the query mixins are written against these."""

from __future__ import annotations

import asyncio
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from gateway.store.records import Deadlock, NoSuchTable
from gateway.store.versioning import BUMP, NO_CHANGE, decision_change

_T = TypeVar("_T")

Row = Mapping[str, Any]


def now() -> int:
    return int(time.time())


LIKE_ESCAPE = "!"


def like_literal(text: str) -> str:
    """`text` as a LIKE pattern that matches it literally (with `ESCAPE '!'`): a `%` or `_` a
    user typed is just a character."""
    return "".join(LIKE_ESCAPE + c if c in "!%_" else c for c in text)


def containing(text: str) -> str:
    """A LIKE pattern (with `ESCAPE '!'`) of what contains `text` literally."""
    return "%" + like_literal(text) + "%"


class SQLBase(ABC):
    dialect = ""  # what `OnlyOn` statements of the migrations name: "sqlite" or "mariadb"
    autoincrement_pk = ""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    def through(self, table: str, index: str) -> str:
        """`table` read through `index` and no other, named in the statement in each dialect's
        words: where a page must come from one index, no planner's statistics (or lack of
        them) may choose another."""
        return f"{table} INDEXED BY {index}" if self.dialect == "sqlite" else f"{table} FORCE INDEX ({index})"

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement (in its own transaction when the caller has none); returns the
        affected row count. A write that can change a decision bumps the change version in its
        transaction, one of its own when the caller has none (gateway/store/versioning.py)."""
        kind = decision_change(sql)
        if kind == NO_CHANGE:
            return await self._execute(sql, params)
        async with self.transaction():
            count = await self._execute(sql, params)
            if count:
                self._changed_decisions(kind)
            return count

    @abstractmethod
    async def _execute(self, sql: str, params: Mapping[str, Any] | None) -> int:
        """Run one statement as it is: in the current transaction, else on its own."""

    @abstractmethod
    def _changed_decisions(self, kind: int) -> None:
        """Note that the current transaction changed a decision of `kind` (versioning.CONTENT or
        ACCESS): it bumps the change version just before it commits (`_bump_change_version`)."""

    async def _bump_change_version(self, kind: int) -> None:
        """Count one more decision-changing commit (and access-changing one, for ACCESS), last in
        its transaction, so every transaction takes those rows' locks last and holds them
        briefly. A database whose migrations have not reached the change_version table (a
        migration writing rows, before it exists) has nothing to count and nobody reading it."""
        try:
            await self._execute(BUMP[kind], None)
        except NoSuchTable:
            return

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """All statements of this task inside the block commit together or not at all. A block
        inside another of the same task joins it; other tasks' statements never join it."""

    def upsert(self, table: str, keys: tuple[str, ...], values: tuple[str, ...], updates: tuple[str, ...]) -> str:
        """One statement that inserts a row (`keys` + `values`, each bound as `:column`) or, when
        a row with those keys exists, sets its `updates` columns to the new values. One statement,
        not an UPDATE then an INSERT: two instances indexing the same new row at once in
        transactions wait for each other instead of deadlocking on InnoDB's gap locks."""
        columns = keys + values
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
        return insert + self._on_duplicate(keys, updates)

    @abstractmethod
    def _on_duplicate(self, keys: tuple[str, ...], updates: tuple[str, ...]) -> str:
        """The dialect's clause that turns an INSERT into an upsert."""

    def in_transaction(self) -> bool:
        """Whether this task runs inside a transaction block of this store: what it reads may
        be its own uncommitted writes, which no cache may keep (`namespace_lookup`), and on
        MariaDB only the outermost block may run again after a deadlock."""
        return False

    async def again_on_deadlock(self, block: Callable[[], Awaitable[_T]]) -> _T:
        """`again_on_deadlock` for a block that opens a transaction, unless this task is inside
        one already: InnoDB rolls a victim back whole, so only the outermost block may run again."""
        if self.in_transaction():
            return await block()
        return await again_on_deadlock(block)

    def version_lag(self) -> float:
        """How many seconds after a commit another process may still report the data version from
        before it (a polled one); whoever relies on every instance having seen a change waits this."""
        return 0.0

    def data_version(self) -> object | None:
        """Something that changes whenever any process commits a write that can change a cached
        decision, checked without a query; None when the dialect cannot tell now (callers then
        must not cache what they read)."""
        return None

    def access_version(self) -> object | None:
        """The same for writes that can change who may do what (versioning.ACCESS_TABLES) alone:
        what token grants and namespace lookups are kept under, so that pushes leave them be."""
        return None

    async def poll_version(self) -> None:
        """Read what `data_version` reports from the database, for dialects that must ask it
        (MariaDB); called a few times a second by the change watch. Nothing to do elsewhere."""
        return

    async def fetch_one(self, sql: str, params: Mapping[str, Any] | None = None) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None


DEADLOCK_ATTEMPTS = 5
# Before running a deadlock's victim again, a random pause of up to this, doubled at each attempt
# (5, 10, 20, 40 ms): the transaction it lost to is still running, and an attempt made at once
# meets it again in the same order (seen in the soak: a manifest's event lost to three attempts
# made at once, all within its request's 45 ms, and the push got a 503).
DEADLOCK_PAUSE = 0.005


async def _pause_before(attempt: int) -> None:
    await asyncio.sleep(random.uniform(0, DEADLOCK_PAUSE * 2**attempt))


async def again_on_deadlock(
    block: Callable[[], Awaitable[_T]], attempts: int = DEADLOCK_ATTEMPTS,
    pause: Callable[[int], Awaitable[None]] = _pause_before,
) -> _T:
    """Run a transaction's block, and again when MariaDB made it a deadlock's victim: two
    instances indexing pushes and pull batches of one repository at once can deadlock on InnoDB's
    row and gap locks, and the victim, rolled back whole, is meant to be run again, after a pause
    that lets the winner commit."""
    for attempt in range(attempts - 1):
        try:
            return await block()
        except Deadlock:
            await pause(attempt)
    return await block()
