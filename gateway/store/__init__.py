"""Persistence behind one async interface: SQLite (embedded default) or MariaDB (aiomysql)."""

from __future__ import annotations

from gateway.store.base import Store
from gateway.store.records import (
    AppToken,
    Conflict,
    Deletion,
    Member,
    Namespace,
    NotFound,
    RefreshToken,
    StoreError,
    StoreUnavailable,
    Team,
    Tombstone,
    User,
)


async def open_store(url: str) -> Store:
    """Open the store named by a `sqlite:///PATH` or `mysql://USER:PASS@HOST:PORT/DB` URL."""
    if url.startswith("sqlite:///"):
        from gateway.store.sqlite import SQLiteStore

        return await SQLiteStore.open(url.removeprefix("sqlite:///"))
    if url.startswith("mysql://"):
        from gateway.store.mysql import MySQLStore

        return await MySQLStore.open(url)
    raise StoreError(f"unsupported database URL scheme in {url.split('://')[0]!r}")


__all__ = [
    "AppToken", "Conflict", "Deletion", "Member", "Namespace", "NotFound", "RefreshToken", "Store", "StoreError",
    "StoreUnavailable", "Team", "Tombstone", "User", "open_store",
]
