"""Store helpers for tests that look at what a store runs or at two stores on one database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from gateway.store import Store, open_store
from tests.support.processes import mariadb_database


@contextmanager
def counted(store: Store) -> Iterator[list[str]]:
    """The statements the store reads with inside the block (fetch_one reads through fetch_all)."""
    seen: list[str] = []
    original = store.fetch_all

    async def recording(sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        seen.append(sql)
        return await original(sql, params)

    store.fetch_all = recording  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del store.fetch_all


@asynccontextmanager
async def two_stores(url: str | None = None) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one migrated database, as two instances (or workers) open it; without a
    URL, on a fresh MariaDB database dropped afterwards."""
    drop = None
    if url is None:
        url, drop = mariadb_database()
    first = await open_store(url)
    await first.migrate()
    second = await open_store(url)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()
        if drop is not None:
            drop()


async def window_pages(store: Store, since: int, until: int, limit: int) -> list[int]:
    """The seqs of a time window's events, newest first, read `limit` at a time through
    `list_events`, each page from the one before it (`before_seq`)."""
    paged: list[int] = []
    before = None
    while True:
        page = await store.list_events(since_ms=since, until_ms=until, before_seq=before, limit=limit)
        assert len(page) <= limit
        paged += [e.seq for e in page]
        if len(page) < limit:
            return paged
        before = page[-1].seq
