"""Write the rows of tests/bench/bigdata.py into a migrated store, fast: straight through the
driver (sqlite3 / pymysql), many rows a statement, big transactions. Not through the gateway's
store: it inserts one event a statement and would take hours for ten million."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway.auth.credentials import hash_password
from gateway.store.grams import grams
from tests.bench import bigdata

PASSWORD = "bench-password"
ADMIN = "benchadmin"
USER = "benchuser"
USER_TEAMS = 10  # the bench user is a viewer of the first teams (public, protected and private)
COMMIT_ROWS = 200_000


class Cursor(Protocol):
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> Any: ...

    def execute(self, sql: str, /) -> Any: ...

    def fetchone(self) -> Any: ...


class Connection(Protocol):
    def cursor(self) -> Any: ...

    def commit(self) -> None: ...


@dataclass
class Filled:
    """What was written, for the requests to pick their cursors from."""

    shape: bigdata.Shape
    repositories: list[str]
    tag_counts: list[int]
    end_ms: int
    seconds: float

    @property
    def big_repository(self) -> str:
        return self.repositories[self.tag_counts.index(max(self.tag_counts))]


def _insert(connection: Connection, mark: str, table: str, columns: str, rows: Iterable[Sequence[Any]]) -> int:
    """All `rows` into `table`, committing every COMMIT_ROWS; returns how many."""
    width = columns.count(",") + 1
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join([mark] * width)})"
    cursor = connection.cursor()
    batch: list[Sequence[Any]] = []
    written = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= 10_000:
            cursor.executemany(sql, batch)
            written += len(batch)
            batch = []
            if written % COMMIT_ROWS == 0:
                connection.commit()
    if batch:
        cursor.executemany(sql, batch)
        written += len(batch)
    connection.commit()
    return written


def fill(
    connection: Connection, mark: str, shape: bigdata.Shape, say: Any,
    write_events: Callable[[Connection, list[bigdata.EventRow]], int] | None = None,
) -> Filled:
    """Every row of a store of `shape` through a DB-API `connection` whose placeholder is `mark`
    (events through `write_events` when given), but those `top_up` writes once the events'
    indexes are back (the hours' bounds are read from one)."""
    write_events = write_events or _events_by_insert(mark)
    started = time.monotonic()
    end_ms = int(time.time() * 1000)
    now = end_ms // 1000
    hashed = hash_password(PASSWORD, cost=14)  # one hash for every user: the KDF once, not 10,000 times
    users = [(bigdata.user_name(i), hashed, 0, 0, now, now) for i in range(shape.users)]
    users += [(ADMIN, hashed, 1, 0, now, now), (USER, hashed, 0, 0, now, now)]
    _insert(connection, mark, "users", "name, password_hash, admin, disabled, created_at, updated_at", users)
    _insert(connection, mark, "teams", "name, created_at", [(bigdata.team_name(i), now) for i in range(shape.teams)])
    members = [(*m, now) for m in bigdata.members(shape)]
    members += [(bigdata.team_name(i), USER, "viewer", now) for i in range(min(USER_TEAMS, shape.teams))]
    _insert(connection, mark, "team_members", "team, username, role, created_at", members)
    _insert(
        connection, mark, "namespaces", "name, team, visibility, created_at",
        [(*n, now) for n in bigdata.namespaces(shape)],
    )
    names = bigdata.repository_names(shape)
    counts = bigdata.tag_counts(shape)
    start_ms = end_ms - shape.days * bigdata.DAY_MS
    _insert(
        connection, mark, "repositories", "name, created_at, last_push_at, last_pull_at",
        [(n, start_ms // 1000, now - i % 86_400, now - i % 3_600) for i, n in enumerate(names)],
    )
    _insert(connection, mark, "repository_grams", "gram, name", ((g, n) for n in names for g in grams(n)))
    held = Counter(g for n in names for g in grams(n))
    _insert(connection, mark, "gram_counts", "gram, n", sorted(held.items()))
    say(f"  {len(names):,} repositories (and their names' trigrams), {shape.users:,} users, {shape.teams:,} teams")
    tags = _insert(
        connection, mark, "tags", "repository, tag, digest, media_type, size, pushed_at",
        bigdata.tags(names, counts, start_ms),
    )
    _insert(
        connection, mark, "manifests", "repository, digest, media_type, size, artifact_type, subject, annotations, pushed_at",
        ((t[0], t[2], t[3], t[4], None, None, None, t[5]) for t in bigdata.tags(names, counts, start_ms)),
    )
    say(f"  {tags:,} tags and their manifests ({time.monotonic() - started:.0f} s)")
    written = 0
    for chunk in bigdata.events(shape, names, end_ms):
        written += write_events(connection, chunk)
        if written % 1_000_000 < len(chunk):
            say(f"  {written:,} events ({time.monotonic() - started:.0f} s)")
    return Filled(shape, names, counts, end_ms, time.monotonic() - started)


def _insert_new(connection: Connection, mark: str, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> int:
    """`rows` into `table` but those whose key is there already (SQLite `OR IGNORE`, MariaDB
    `IGNORE`: the same statement on both): a second top-up adds nothing."""
    width = columns.count(",") + 1
    verb = "INSERT OR IGNORE" if mark == "?" else "INSERT IGNORE"
    cursor = connection.cursor()
    for start in range(0, len(rows), 5_000):
        cursor.executemany(f"{verb} INTO {table} ({columns}) VALUES ({', '.join([mark] * width)})", rows[start:start + 5_000])
    connection.commit()
    return len(rows)


def _one(connection: Connection, sql: str) -> Any:
    cursor = connection.cursor()
    cursor.execute(sql)
    row = cursor.fetchone()
    return None if row is None else row[0]


def _bound_event_hours(connection: Connection, mark: str) -> None:
    """Each hour's bounds of seqs (migration 26) from the events, as the gateway's inserts keep
    them: the events were loaded around the store, and its time window pages read only hours
    with bounds. Widened, never narrowed, so a second run changes nothing; an ordered scan of
    `events_by_hour` (no sort), as migration 26 fills them."""
    if mark == "?":
        sql = (
            "INSERT INTO event_hours (hour, low_seq, top_seq) SELECT created_at / 3600000, MIN(seq), MAX(seq)"
            " FROM events WHERE 1 GROUP BY created_at / 3600000 ON CONFLICT (hour) DO UPDATE SET"
            " low_seq = MIN(low_seq, excluded.low_seq), top_seq = MAX(top_seq, excluded.top_seq)"
        )
    else:
        sql = (
            "INSERT INTO event_hours (hour, low_seq, top_seq) SELECT created_hour, MIN(seq), MAX(seq)"
            " FROM events GROUP BY created_hour ON DUPLICATE KEY UPDATE"
            " low_seq = LEAST(low_seq, VALUES(low_seq)), top_seq = GREATEST(top_seq, VALUES(top_seq))"
        )
    connection.cursor().execute(sql)
    connection.commit()


def top_up(connection: Connection, mark: str, shape: bigdata.Shape, say: Any) -> None:
    """The rows of the pages added after the first bench (tokens, webhooks with deliveries and
    failures, sessions, quotas, retention policies, reserved namespaces), into a store filled
    with or without them: every row has a fixed key and is skipped when there, and a webhook's
    deliveries (keyed by an auto-increment) are written only to a webhook that has none."""
    started = time.monotonic()
    now = int(time.time())
    _bound_event_hours(connection, mark)
    top_seq = int(_one(connection, "SELECT MAX(seq) FROM events") or 0)
    bench_users = (ADMIN, USER)
    _insert_new(
        connection, mark, "app_tokens", "id, username, name, secret_hash, namespaces, actions, expires_at, created_at",
        bigdata.token_rows(shape, bench_users, now),
    )
    _insert_new(
        connection, mark, "ui_sessions", "id_hash, username, created_at, last_seen_at, ended_at",
        bigdata.session_rows(shape, bench_users, now),
    )
    _insert_new(
        connection, mark, "webhooks",
        "name, url, secret, headers, actions, repository_pattern, source, cursor_seq, leased_by, lease_until, created_at",
        bigdata.webhook_rows(now, top_seq),
    )
    # A reused store's webhooks were sealed by an earlier gateway's key (its data dir is gone):
    # plain again, for this run's gateway to seal with its own.
    connection.cursor().executemany(
        f"UPDATE webhooks SET url = {mark}, secret = {mark}, headers = {mark} WHERE name = {mark}",
        [(row[1], row[2], row[3], row[0]) for row in bigdata.webhook_rows(now, top_seq)],
    )
    connection.commit()
    _insert_new(
        connection, mark, "webhook_failures", "webhook, event_seq, state, attempts, last_error, updated_at",
        bigdata.failure_rows(now),
    )
    for i in range(bigdata.WEBHOOKS):
        name = bigdata.webhook_name(i)
        if _one(connection, f"SELECT COUNT(*) FROM webhook_deliveries WHERE webhook = '{name}'"):
            continue
        _insert(
            connection, mark, "webhook_deliveries",
            "webhook, first_seq, last_seq, seqs, status_code, error, attempts, redelivery, delivered_at",
            bigdata.delivery_rows(name, top_seq, now),
        )
    _insert_new(connection, mark, "namespace_quotas", "namespace, quota, updated_at", bigdata.quota_rows(shape, now))
    _insert_new(
        connection, mark, "retention_policies",
        "namespace, repository_pattern, keep_last, keep_pulled_days, keep_matching, drop_matching, min_age_hours,"
        " updated_by, updated_at",
        bigdata.retention_rows(shape, now),
    )
    _insert_new(
        connection, mark, "namespace_tombstones",
        "name, deleted_at, former_kind, former_owner, deleted_by, repositories", bigdata.tombstone_rows(shape, now),
    )
    say(f"  tokens, sessions, webhooks, quotas, retention policies, reserved names topped up ({time.monotonic() - started:.1f} s)")


EVENT_COLUMNS = "id, created_at, action, repository, tag, digest, actor, body"


def _events_by_insert(mark: str) -> Callable[[Connection, list[bigdata.EventRow]], int]:
    def write(connection: Connection, rows: list[bigdata.EventRow]) -> int:
        return _insert(connection, mark, "events", EVENT_COLUMNS, rows)

    return write


def _events_by_load_data(workdir: Path) -> Callable[[Connection, list[bigdata.EventRow]], int]:
    """MariaDB's LOAD DATA LOCAL INFILE: several times faster than multi-row INSERTs. The
    generated values hold no tab, newline or backslash; NULL is written `\\N`."""
    path = workdir / "events.tsv"

    def write(connection: Connection, rows: list[bigdata.EventRow]) -> int:
        with path.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
        cursor = connection.cursor()
        cursor.execute(
            f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE events FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'"
            f" LINES TERMINATED BY '\\n' ({EVENT_COLUMNS})"
        )
        connection.commit()
        return len(rows)

    return write


def _secondary_indexes_sqlite(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _secondary_indexes_mariadb(connection: Any) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW INDEX FROM events")
        rows = cursor.fetchall()
    indexes: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r[2], r[3])):
        _table, non_unique, key, _seq, column = row[:5]
        if key != "PRIMARY" and non_unique:
            indexes.setdefault(key, []).append(column)
    return indexes


def fill_sqlite(path: str, shape: bigdata.Shape, say: Any) -> Filled:
    """The events' secondary indexes are dropped for the load and made again after it, from
    their own SQL: one sort each instead of ten million random inserts."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-512000")
    try:
        indexes = _secondary_indexes_sqlite(connection)
        for sql in indexes:
            connection.execute("DROP INDEX " + sql.split()[2])
        filled = fill(connection, "?", shape, say)
        started = time.monotonic()
        for sql in indexes:
            connection.execute(sql)
        connection.commit()
        say(f"  events' indexes made again in {time.monotonic() - started:.0f} s")
        top_up(connection, "?", shape, say)
        # No ANALYZE: the gateway never runs it, so its planner works without statistics here too.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filled.seconds += time.monotonic() - started
        return filled
    finally:
        connection.close()


def fill_mariadb(connect: Any, shape: bigdata.Shape, say: Any, workdir: Path) -> Filled:
    """`connect()`: a pymysql connection to the (migrated) database, LOAD DATA LOCAL allowed.
    The events' secondary indexes are dropped for the load and added again after it."""
    connection = connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION unique_checks = 0, foreign_key_checks = 0")
            indexes = _secondary_indexes_mariadb(connection)
            if indexes:
                cursor.execute("ALTER TABLE events " + ", ".join(f"DROP INDEX {name}" for name in indexes))
        filled = fill(connection, "%s", shape, say, _events_by_load_data(workdir))
        started = time.monotonic()
        with connection.cursor() as cursor:
            if indexes:
                added = (f"ADD INDEX {name} ({', '.join(columns)})" for name, columns in indexes.items())
                cursor.execute("ALTER TABLE events " + ", ".join(added))
            say(f"  events' indexes made again in {time.monotonic() - started:.0f} s")
        top_up(connection, "%s", shape, say)
        with connection.cursor() as cursor:
            tables = ("users", "teams", "team_members", "namespaces", "repositories", "repository_grams", "tags", "manifests", "events")
            for table in tables:
                cursor.execute(f"ANALYZE TABLE {table}")
                cursor.fetchall()
        filled.seconds += time.monotonic() - started
        return filled
    finally:
        connection.close()
