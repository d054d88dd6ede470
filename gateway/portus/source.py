"""Reading a Portus 2.4/2.5 database (MariaDB/MySQL), read only, into plain rows.

The tables and columns an import needs are checked first (`REQUIRED`): a database without them
is not Portus's, and the import stops with one line before reading anything. Large tables
(activities, tags) are read in pages of `PAGE` rows by id, reporting progress as they go.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncmy
from asyncmy import errors as driver
from asyncmy.connection import Connection
from asyncmy.cursors import DictCursor
from yarl import URL

PAGE = 5000

# table -> the columns the import reads (besides id, created_at and updated_at, which every table has).
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "users": ("username", "email", "encrypted_password", "admin", "enabled", "bot", "namespace_id", "ldap_name", "provider"),
    "teams": ("name", "hidden"),
    "team_users": ("user_id", "team_id", "role"),
    "namespaces": ("name", "team_id", "global", "visibility"),
    "repositories": ("name", "namespace_id"),
    "tags": ("name", "repository_id", "digest", "user_id", "username", "size", "pulled_at", "marked"),
    "application_tokens": ("application", "token_hash", "token_salt", "user_id"),
    "webhooks": ("namespace_id", "url", "username", "password", "request_method", "content_type", "enabled"),
    "webhook_headers": ("webhook_id", "name", "value"),
    "activities": (
        "trackable_type", "trackable_id", "owner_type", "owner_id", "key", "parameters", "recipient_type", "recipient_id",
    ),
}
# Tables of Portus data the gateway has no place for: counted in the report, not imported.
NOT_IMPORTED = ("stars", "comments", "scan_results", "vulnerabilities", "webhook_deliveries", "registry_events")

Row = dict[str, Any]
Progress = Callable[[str, int], None]  # (table, rows read so far)


class PortusSourceError(Exception):
    """The Portus database cannot be read as one; `str()` is the one line shown."""


@dataclass
class PortusData:
    """Every row an import needs, by table; `not_imported` counts the rows of tables it leaves."""

    tables: dict[str, list[Row]] = field(default_factory=dict)
    not_imported: dict[str, int] = field(default_factory=dict)
    webhook_names: bool = False  # Portus 2.5 webhooks have a name column; 2.4's do not

    def rows(self, table: str) -> list[Row]:
        return self.tables.get(table, [])


def parse_source_url(text: str, origin: str = "--from") -> URL:
    """`mysql://USER:PASS@HOST:PORT/DB`, checked before any connection is tried; `origin` says
    where it was given (--from, --from-file PATH, the environment) in an error."""
    try:
        url = URL(text)
        url.port  # noqa: B018 - a malformed port only shows when read
    except ValueError:
        raise PortusSourceError(f"{origin}: not a valid URL: {text.split('@')[-1]!r}") from None
    if url.scheme not in ("mysql", "mariadb") or not url.host or not url.path.strip("/"):
        raise PortusSourceError(f"{origin}: expected mysql://USER:PASS@HOST:PORT/DB (the Portus database)")
    return url


def seconds(value: Any) -> int | None:
    """A Portus DATETIME (UTC, as Rails writes them) as seconds since the epoch."""
    if isinstance(value, datetime.datetime):
        return int(value.replace(tzinfo=datetime.UTC).timestamp())
    return None


async def _connect(url: URL) -> Connection:
    try:
        return await asyncmy.connect(
            host=url.host, port=url.port or 3306, user=url.user or "root", password=url.password or "",
            database=url.path.strip("/"), charset="utf8mb4", cursor_cls=DictCursor, autocommit=True,
            connect_timeout=10,
        )
    except (driver.Error, OSError) as exc:
        raise PortusSourceError(f"cannot read the Portus database at {url.host}:{url.port or 3306}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, driver.Error) and len(exc.args) >= 2:
        return str(exc.args[1])
    return str(exc) or type(exc).__name__


async def _fetch(conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(sql, params)
            rows: list[Row] = list(await cursor.fetchall())
            return rows
    except driver.Error as exc:
        raise PortusSourceError(f"reading the Portus database failed: {_reason(exc)}") from None


async def _columns(conn: Connection) -> dict[str, set[str]]:
    rows = await _fetch(
        conn,
        "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE()",
    )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(str(row["t"]), set()).add(str(row["c"]))
    return found


def check_schema(columns: Mapping[str, set[str]]) -> None:
    """Refuse a database that lacks a table or column the import reads, naming the first one."""
    for table, needed in REQUIRED.items():
        if table not in columns:
            raise PortusSourceError(f"not a Portus database: it has no table {table!r}")
        missing = [c for c in ("id", "created_at", "updated_at", *needed) if c not in columns[table]]
        if missing:
            raise PortusSourceError(f"not a Portus database (2.4 or later): table {table!r} has no column {missing[0]!r}")


async def read_portus(url_text: str, progress: Progress | None = None) -> PortusData:
    """Every row the import needs, read in pages by id (a consistent snapshot: one transaction)."""
    url = parse_source_url(url_text)
    conn = await _connect(url)
    try:
        columns = await _columns(conn)
        check_schema(columns)
        data = PortusData(webhook_names="name" in columns["webhooks"])
        await _fetch(conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
        for table, needed in REQUIRED.items():
            named = ("name",) if table == "webhooks" and data.webhook_names else ()
            wanted = ("id", "created_at", "updated_at", *needed, *named)
            listed = ", ".join(f"`{c}`" for c in wanted)
            rows: list[Row] = []
            while True:
                last = rows[-1]["id"] if rows else -1
                page = await _fetch(conn, f"SELECT {listed} FROM `{table}` WHERE id > %s ORDER BY id LIMIT {PAGE}", (last,))
                rows.extend(page)
                if len(page) < PAGE:
                    break
                if progress is not None:
                    progress(table, len(rows))
            if progress is not None:
                progress(table, len(rows))
            data.tables[table] = rows
        for table in NOT_IMPORTED:
            if table in columns:
                counted = await _fetch(conn, f"SELECT COUNT(*) AS n FROM `{table}`")
                if counted and int(counted[0]["n"]):
                    data.not_imported[table] = int(counted[0]["n"])
        await _fetch(conn, "COMMIT")
        return data
    finally:
        conn.close()
