"""The store interface and the SQL it runs, shared by both dialects.

Queries use `:name` parameters; a dialect translates them for its driver. Driver errors are
mapped to `Conflict` / `StoreUnavailable` so callers never import a driver.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.store.schema import MIGRATIONS

Row = Mapping[str, Any]


class StoreError(Exception):
    """Base class of every store failure."""


class Conflict(StoreError):
    """A unique key already exists."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or refused the operation."""


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    admin: bool
    disabled: bool
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class RefreshToken:
    token_hash: str
    username: str
    service: str
    client_id: str
    created_at: int
    revoked_at: int | None


def _now() -> int:
    return int(time.time())


def _user(row: Row) -> User:
    return User(
        name=row["name"], password_hash=row["password_hash"], admin=bool(row["admin"]),
        disabled=bool(row["disabled"]), created_at=int(row["created_at"]), updated_at=int(row["updated_at"]),
    )


class Store(ABC):
    """One object owns the connections; everything else asks it, never a driver."""

    autoincrement_pk = ""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    @abstractmethod
    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement in its own transaction; returns the affected row count."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def _migration_lock(self) -> Any:
        """An async context manager that serialises migrations across processes."""

    async def fetch_one(self, sql: str, params: Mapping[str, Any] | None = None) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def ping(self) -> None:
        await self.fetch_all("SELECT 1 AS one")

    # -- migrations --------------------------------------------------------------------------

    async def applied_migrations(self) -> set[int]:
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)"
        )
        return {int(r["version"]) for r in await self.fetch_all("SELECT version FROM schema_migrations")}

    async def migrate(self) -> list[int]:
        """Apply the migrations not yet applied, in order; returns the versions applied now."""
        applied_now: list[int] = []
        async with await self._migration_lock():
            done = await self.applied_migrations()
            for version, statements in MIGRATIONS:
                if version in done:
                    continue
                for statement in statements:
                    await self.execute(statement.format(autoincrement_pk=self.autoincrement_pk))
                await self.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (:version, :at)",
                    {"version": version, "at": _now()},
                )
                applied_now.append(version)
        return applied_now

    # -- users -------------------------------------------------------------------------------

    async def get_user(self, name: str) -> User | None:
        row = await self.fetch_one("SELECT * FROM users WHERE name = :name", {"name": name})
        return _user(row) if row else None

    async def list_users(self) -> list[User]:
        return [_user(r) for r in await self.fetch_all("SELECT * FROM users ORDER BY name")]

    async def create_user(self, name: str, password_hash: str, *, admin: bool = False) -> User:
        now = _now()
        await self.execute(
            "INSERT INTO users (name, password_hash, admin, disabled, created_at, updated_at)"
            " VALUES (:name, :hash, :admin, 0, :now, :now)",
            {"name": name, "hash": password_hash, "admin": int(admin), "now": now},
        )
        return User(name, password_hash, admin, False, now, now)

    async def set_user_disabled(self, name: str, disabled: bool) -> bool:
        count = await self.execute(
            "UPDATE users SET disabled = :disabled, updated_at = :now WHERE name = :name",
            {"disabled": int(disabled), "now": _now(), "name": name},
        )
        return count > 0

    async def set_user_password(self, name: str, password_hash: str) -> bool:
        count = await self.execute(
            "UPDATE users SET password_hash = :hash, updated_at = :now WHERE name = :name",
            {"hash": password_hash, "now": _now(), "name": name},
        )
        return count > 0

    async def disabled_usernames(self) -> frozenset[str]:
        rows = await self.fetch_all("SELECT name FROM users WHERE disabled = 1")
        return frozenset(r["name"] for r in rows)

    # -- refresh tokens ----------------------------------------------------------------------

    async def add_refresh_token(self, token_hash: str, username: str, service: str, client_id: str) -> None:
        await self.execute(
            "INSERT INTO refresh_tokens (token_hash, username, service, client_id, created_at, revoked_at)"
            " VALUES (:hash, :user, :service, :client, :now, NULL)",
            {"hash": token_hash, "user": username, "service": service, "client": client_id, "now": _now()},
        )

    async def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        row = await self.fetch_one("SELECT * FROM refresh_tokens WHERE token_hash = :hash", {"hash": token_hash})
        if row is None:
            return None
        return RefreshToken(
            token_hash=row["token_hash"], username=row["username"], service=row["service"],
            client_id=row["client_id"], created_at=int(row["created_at"]),
            revoked_at=None if row["revoked_at"] is None else int(row["revoked_at"]),
        )

    async def revoke_refresh_tokens(self, username: str) -> int:
        return await self.execute(
            "UPDATE refresh_tokens SET revoked_at = :now WHERE username = :user AND revoked_at IS NULL",
            {"now": _now(), "user": username},
        )


def named_to_pyformat(sql: str) -> str:
    """`:name` -> `%(name)s` for drivers that use the pyformat style."""
    return re.sub(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)", r"%(\1)s", sql)
