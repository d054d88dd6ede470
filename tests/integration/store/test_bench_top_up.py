"""The big-store bench's top-up (tests/bench/bigfill.py `top_up`): the rows of the pages added
after the first bench, written into a store filled without them, read back through the
gateway's own store, and a second top-up (the next `--reuse-sqlite` / `--reuse-mariadb` run)
adds nothing."""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import urlsplit

from gateway.store import Store
from tests.bench import bigdata, bigfill
from tests.support.processes import MariaDBServer

SHAPE = bigdata.Shape.at(0.01)
TABLES = (
    "app_tokens", "ui_sessions", "webhooks", "webhook_failures", "webhook_deliveries", "namespace_quotas",
    "retention_policies", "namespace_tombstones",
)


def _connect(database_url: str) -> Any:
    if database_url.startswith("sqlite"):
        return sqlite3.connect(database_url.removeprefix("sqlite:///"))
    return MariaDBServer.from_environment().connect(database=urlsplit(database_url).path.lstrip("/"), autocommit=False)


def _counts(connection: Any) -> dict[str, int]:
    cursor = connection.cursor()
    counts = {}
    for table in TABLES:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        counts[table] = int(cursor.fetchone()[0])
    return counts


async def test_a_top_up_fills_the_later_pages_rows_once(store: Store, database_url: str) -> None:
    mark = "?" if store.dialect == "sqlite" else "%s"
    connection = _connect(database_url)
    try:
        bigfill.top_up(connection, mark, SHAPE, lambda _message: None)
        first = _counts(connection)
        bigfill.top_up(connection, mark, SHAPE, lambda _message: None)
        assert _counts(connection) == first
    finally:
        connection.close()
    assert first["webhooks"] == bigdata.WEBHOOKS
    assert first["webhook_deliveries"] == bigdata.WEBHOOKS * bigdata.DELIVERIES_PER_WEBHOOK
    assert first["namespace_tombstones"] == 100
    tokens = await store.list_app_tokens(bigfill.USER)
    assert len(tokens) == bigdata.TOKENS_OF_BENCH_USERS
    hook = bigdata.webhook_name(0)
    assert len(await store.webhook_failures(hook)) == bigdata.FAILURES_PER_WEBHOOK
    deliveries = await store.webhook_deliveries(hook)
    assert len(deliveries) == bigdata.DELIVERIES_PER_WEBHOOK and deliveries[0].id > deliveries[-1].id
    assert [w.name for w in await store.list_webhooks(limit=2)] == [bigdata.webhook_name(0), bigdata.webhook_name(1)]
    assert await store.namespace_quota(bigdata.team_name(0)) == 10 * 1024**3
    assert {p.repository_pattern for p in await store.retention_policies(bigdata.team_name(0))} == {"", "app-*"}


async def test_a_top_up_makes_webhooks_sealed_by_an_earlier_gateway_plain_again(store: Store, database_url: str) -> None:
    """A reused store's webhooks were sealed with a key that left with the earlier run's data
    dir: the next run's gateway could open none of them (its webhook pages answered 503)."""
    mark = "?" if store.dialect == "sqlite" else "%s"
    connection = _connect(database_url)
    try:
        bigfill.top_up(connection, mark, SHAPE, lambda _message: None)
        cursor = connection.cursor()
        cursor.execute("UPDATE webhooks SET url = 'pgs1:sealed-elsewhere', secret = 'pgs1:x', headers = 'pgs1:y'")
        connection.commit()
        bigfill.top_up(connection, mark, SHAPE, lambda _message: None)
        cursor.execute(f"SELECT url, secret FROM webhooks WHERE name = {mark}", (bigdata.webhook_name(1),))
        assert cursor.fetchone() == ("http://127.0.0.1:9/hook/1", "secret-1")
    finally:
        connection.close()


async def test_a_top_up_bounds_the_hours_of_events_loaded_around_the_store(store: Store, database_url: str) -> None:
    """The bench loads its events straight through the driver (LOAD DATA, executemany): the
    top-up gives their hours the bounds the gateway's inserts keep (migration 26), or its time
    window pages would find no hour to read; a second top-up changes nothing."""
    mark = "?" if store.dialect == "sqlite" else "%s"
    hour = 3_600_000
    base = 480_000 * hour
    times = [base + (k * 7_919_000) % (30 * hour) for k in range(300)]  # scrambled over 30 hours
    connection = _connect(database_url)
    try:
        connection.cursor().executemany(
            f"INSERT INTO events ({bigfill.EVENT_COLUMNS}) VALUES ({', '.join([mark] * 8)})",
            [(f"loaded-{k}", at, "pull", "team/app", None, None, "alice", "{}") for k, at in enumerate(times)],
        )
        connection.commit()
        bigfill.top_up(connection, mark, SHAPE, lambda _message: None)
        first = await store.fetch_all("SELECT hour, low_seq, top_seq FROM event_hours ORDER BY hour")
        bigfill.top_up(connection, mark, SHAPE, lambda _message: None)
    finally:
        connection.close()
    expected = await store.fetch_all(
        "SELECT created_at / 3600000 AS hour, MIN(seq) AS low_seq, MAX(seq) AS top_seq FROM events"
        " GROUP BY created_at / 3600000 ORDER BY 1".replace("/", "DIV" if store.dialect == "mariadb" else "/")
    )
    assert [tuple(int(v) for v in r.values()) for r in first] == [tuple(int(v) for v in r.values()) for r in expected]
    assert await store.fetch_all("SELECT hour, low_seq, top_seq FROM event_hours ORDER BY hour") == first
    window = await store.list_events(since_ms=base, until_ms=base + 24 * hour - 1, limit=10)
    plain = await store.fetch_all(
        "SELECT seq FROM events WHERE created_at >= :since AND created_at <= :until ORDER BY seq DESC LIMIT 10",
        {"since": base, "until": base + 24 * hour - 1},
    )
    assert [e.seq for e in window] == [int(r["seq"]) for r in plain]
