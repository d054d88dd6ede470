"""Persistence behind one async interface: SQLite (embedded default) or MariaDB (aiomysql)."""

from __future__ import annotations

from gateway.store.base import Conflict, RefreshToken, Store, StoreError, StoreUnavailable, User


async def open_store(url: str) -> Store:
    """Open the store named by a `sqlite:///PATH` or `mysql://USER:PASS@HOST:PORT/DB` URL."""
    if url.startswith("sqlite:///"):
        from gateway.store.sqlite import SQLiteStore

        return await SQLiteStore.open(url.removeprefix("sqlite:///"))
    if url.startswith("mysql://"):
        from gateway.store.mysql import MySQLStore

        return await MySQLStore.open(url)
    raise StoreError(f"unsupported database URL scheme in {url.split('://')[0]!r}")


__all__ = ["Conflict", "RefreshToken", "Store", "StoreError", "StoreUnavailable", "User", "open_store"]
