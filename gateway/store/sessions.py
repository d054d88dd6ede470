"""Queries on web UI sessions and the first-run setup code.

A session row is keyed by a hash of the session id (the browser's cookie holds the id itself).
Whether a row is still good (not ended, within its idle and absolute lifetimes) is decided by
the caller, which knows the lifetimes; `prune_sessions` deletes the rows no caller could use.
"""

from __future__ import annotations

from gateway.store.records import SetupCode, UiSession
from gateway.store.sql import SQLBase, now

SETUP_CODE_ROW = 1


class SessionQueries(SQLBase):
    async def create_session(self, id_hash: str, username: str, moment: int | None = None) -> UiSession:
        at = now() if moment is None else moment
        await self.execute(
            "INSERT INTO ui_sessions (id_hash, username, created_at, last_seen_at, ended_at)"
            " VALUES (:hash, :user, :now, :now, NULL)",
            {"hash": id_hash, "user": username, "now": at},
        )
        return UiSession(id_hash, username, at, at, None)

    async def get_session(self, id_hash: str) -> UiSession | None:
        row = await self.fetch_one("SELECT * FROM ui_sessions WHERE id_hash = :hash", {"hash": id_hash})
        if row is None:
            return None
        return UiSession(
            id_hash=row["id_hash"], username=row["username"], created_at=int(row["created_at"]),
            last_seen_at=int(row["last_seen_at"]), ended_at=None if row["ended_at"] is None else int(row["ended_at"]),
        )

    async def touch_session(self, id_hash: str, moment: int) -> None:
        """Record a use (the idle lifetime counts from the last one)."""
        await self.execute(
            "UPDATE ui_sessions SET last_seen_at = :now WHERE id_hash = :hash AND last_seen_at < :now",
            {"now": moment, "hash": id_hash},
        )

    async def end_session(self, id_hash: str) -> bool:
        count = await self.execute(
            "UPDATE ui_sessions SET ended_at = :now WHERE id_hash = :hash AND ended_at IS NULL",
            {"now": now(), "hash": id_hash},
        )
        return count > 0

    async def end_sessions(self, username: str) -> int:
        """End every open session of a user (a new password, a disabled or deleted account)."""
        return await self.execute(
            "UPDATE ui_sessions SET ended_at = :now WHERE username = :user AND ended_at IS NULL",
            {"now": now(), "user": username},
        )

    async def prune_sessions(self, idle: int, max_age: int) -> int:
        """Delete sessions that are ended or past a lifetime; returns how many."""
        moment = now()
        return await self.execute(
            "DELETE FROM ui_sessions WHERE ended_at IS NOT NULL OR last_seen_at < :idle_before"
            " OR created_at < :created_before",
            {"idle_before": moment - idle, "created_before": moment - max_age},
        )

    async def has_admin(self) -> bool:
        return await self.fetch_one("SELECT name FROM users WHERE admin = 1 LIMIT 1") is not None

    async def get_setup_code(self) -> SetupCode | None:
        row = await self.fetch_one("SELECT * FROM ui_setup_code WHERE id = :id", {"id": SETUP_CODE_ROW})
        if row is None:
            return None
        return SetupCode(
            code_hash=row["code_hash"], sealed_code=row["sealed_code"], created_at=int(row["created_at"]),
            used_at=None if row["used_at"] is None else int(row["used_at"]),
        )

    async def add_setup_code(self, code_hash: str, sealed_code: str) -> None:
        """Raises Conflict when a code exists already (another process made it first)."""
        await self.execute(
            "INSERT INTO ui_setup_code (id, code_hash, sealed_code, created_at, used_at)"
            " VALUES (:id, :hash, :sealed, :now, NULL)",
            {"id": SETUP_CODE_ROW, "hash": code_hash, "sealed": sealed_code, "now": now()},
        )

    async def renew_used_setup_code(self, code_hash: str, sealed_code: str) -> bool:
        """Replace a used code by a new one (no admin is left); False when it is unused."""
        count = await self.execute(
            "UPDATE ui_setup_code SET code_hash = :hash, sealed_code = :sealed, created_at = :now, used_at = NULL"
            " WHERE id = :id AND used_at IS NOT NULL",
            {"id": SETUP_CODE_ROW, "hash": code_hash, "sealed": sealed_code, "now": now()},
        )
        return count > 0

    async def consume_setup_code(self, code_hash: str) -> bool:
        """Mark the code used if it is this one and unused: of concurrent callers one gets True."""
        count = await self.execute(
            "UPDATE ui_setup_code SET used_at = :now WHERE id = :id AND code_hash = :hash AND used_at IS NULL",
            {"id": SETUP_CODE_ROW, "hash": code_hash, "now": now()},
        )
        return count > 0
