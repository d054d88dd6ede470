"""Each hour's bounds of seqs (migration 26, gateway/store/events.py): raised by every insert of
events in its transaction, filled from the events a store held before, trimmed by retention, and
what a time window's page reads instead of an index probe an hour. Every page must stay exactly
the plain `ORDER BY seq DESC` over the window, whatever order the events' times came in."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

import pytest

import gateway.store.base
from gateway.events.model import new_event_id
from gateway.store import NewEvent, Store, open_store
from gateway.store.schema import MIGRATIONS
from tests.support.stores import counted, two_stores, window_pages

HOUR_MS = 3_600_000
BASE = 480_000 * HOUR_MS  # a whole hour, in 2024


def _event(created_at_ms: int) -> NewEvent:
    return NewEvent(
        id=new_event_id(), created_at_ms=created_at_ms, action="pull", repository="team/app", tag="v1",
        digest="sha256:" + "0" * 64, actor="alice", body={"at": created_at_ms},
    )


async def _hours(store: Store) -> dict[int, tuple[int, int]]:
    rows = await store.fetch_all("SELECT hour, low_seq, top_seq FROM event_hours")
    return {int(r["hour"]): (int(r["low_seq"]), int(r["top_seq"])) for r in rows}


async def _true_hours(store: Store) -> dict[int, tuple[int, int]]:
    """Each hour's lowest and newest seq, from the events themselves."""
    rows = await store.fetch_all("SELECT seq, created_at FROM events")
    hours: dict[int, tuple[int, int]] = {}
    for row in rows:
        seq, hour = int(row["seq"]), int(row["created_at"]) // HOUR_MS
        low, top = hours.get(hour, (seq, seq))
        hours[hour] = (min(low, seq), max(top, seq))
    return hours


async def _assert_bounds_cover(store: Store) -> None:
    stored = await _hours(store)
    for hour, (low, top) in (await _true_hours(store)).items():
        assert hour in stored, f"hour {hour} holds events but has no bounds"
        assert stored[hour][0] <= low and stored[hour][1] >= top, (hour, stored[hour], (low, top))


async def _straight(store: Store, since: int, until: int) -> list[int]:
    rows = await store.fetch_all(
        "SELECT seq FROM events WHERE created_at >= :since AND created_at <= :until ORDER BY seq DESC",
        {"since": since, "until": until},
    )
    return [int(r["seq"]) for r in rows]


async def _scrambled_log(store: Store, seed: int) -> None:
    """A week of events in time order, one event per 20 minutes in batches of a few hours, with
    late events among them: single old ones, a batch of an import spanning days in random order,
    and hours left empty (hours 30-40)."""
    rng = random.Random(seed)
    moments = [BASE + k * 1_200_000 + rng.randrange(600_000) for k in range(7 * 72) if not 90 <= k < 120]
    for start in range(0, len(moments), 13):
        await store.add_events([_event(at) for at in moments[start:start + 13]])
        if rng.random() < 0.3:
            assert await store.add_event(_event(BASE + rng.randrange(7 * 24) * HOUR_MS + rng.randrange(HOUR_MS)))
    imported = [BASE + rng.randrange(7 * 24 * HOUR_MS) for _ in range(60)]
    assert await store.add_events([_event(at) for at in imported]) == 60


async def test_a_window_page_is_the_plain_query_whatever_order_the_times_came_in(store: Store) -> None:
    await _scrambled_log(store, seed=20)
    await _assert_bounds_cover(store)
    windows = [
        (BASE + 5 * HOUR_MS, BASE + 6 * HOUR_MS - 1),  # one hour
        (BASE + 10 * HOUR_MS + 123_456, BASE + 34 * HOUR_MS - 1),  # a day, ending among empty hours
        (BASE + 30 * HOUR_MS, BASE + 39 * HOUR_MS),  # empty hours but for late events
        (BASE, BASE + 168 * HOUR_MS - 1),  # the whole week: 168 hours
        (BASE + 100 * HOUR_MS + 1, BASE + 100 * HOUR_MS + 2),  # two milliseconds
    ]
    for since, until in windows:
        expected = await _straight(store, since, until)
        for limit in (1, 7, 100):
            assert await window_pages(store, since, until, limit) == expected, (since - BASE, until - BASE, limit)


async def test_a_window_page_stays_exact_when_events_are_deleted_under_its_bounds(store: Store) -> None:
    """Pruning to a count leaves the bounds of emptied hours above their events: a read that
    finds less, never a page that differs."""
    await _scrambled_log(store, seed=21)
    await store.prune_events(None, keep=150)
    week = (BASE, BASE + 168 * HOUR_MS - 1)
    assert len(await _straight(store, *week)) == 150
    for limit in (7, 100):
        assert await window_pages(store, *week, limit) == await _straight(store, *week)


async def test_a_window_pages_statements_do_not_grow_with_its_hours(store: Store) -> None:
    """Events in time order: a page of a day's or a week's window reads the bounds, the newest
    hour and the page's rows, three statements that read the events' hour index once; a page
    deep into the week, by its cursor, skips the hours whose events are all newer."""
    moments = [BASE + k * 600_000 for k in range(7 * 144)]  # every ten minutes for a week
    for start in range(0, len(moments), 100):
        await store.add_events([_event(at) for at in moments[start:start + 100]])
    end = BASE + 168 * HOUR_MS - 1
    for hours in (24, 168):
        with counted(store) as seen:
            page = await store.list_events(since_ms=end - hours * HOUR_MS + 1, until_ms=end, limit=5)
        assert [e.seq for e in page] == (await _straight(store, end - hours * HOUR_MS + 1, end))[:5]
        assert len(seen) <= 3 and sum(sql.count("events_by_hour") for sql in seen) == 1, (hours, seen)
    middle = await _straight(store, BASE + 80 * HOUR_MS, BASE + 80 * HOUR_MS + 1)
    with counted(store) as seen:
        page = await store.list_events(since_ms=BASE, until_ms=end, before_seq=middle[0], limit=5)
    assert [e.seq for e in page] == [s for s in await _straight(store, BASE, end) if s < middle[0]][:5]
    assert sum(sql.count("events_by_hour") for sql in seen) <= 2, seen


async def test_an_insert_raises_the_bounds_of_every_hour_it_writes(store: Store) -> None:
    """One batch over several hours out of order, then events late into an hour already there
    and one into an hour of its own: each hour's bounds cover its seqs; an hour never written has
    none."""
    assert await store.add_events([_event(BASE + h * HOUR_MS + 5) for h in (3, 1, 3, 2)]) == 4
    assert await store.add_event(_event(BASE + HOUR_MS + 7))
    assert await store.add_events([_event(BASE + h * HOUR_MS) for h in (9, 1)]) == 2
    await _assert_bounds_cover(store)
    assert set(await _hours(store)) == {480_001, 480_002, 480_003, 480_009}
    page = await store.list_events(since_ms=BASE + HOUR_MS, until_ms=BASE + 2 * HOUR_MS - 1, limit=2)
    assert [e.seq for e in page] == (await _straight(store, BASE + HOUR_MS, BASE + 2 * HOUR_MS - 1))[:2]


async def test_an_inserts_bounds_read_only_the_rows_it_wrote(store: Store) -> None:
    """The bounds of a batch come from its own rows, found by the key: a statement that scanned
    the hour index for them would read the whole log on every insert."""
    await store.add_events([_event(BASE + k * 60_000) for k in range(300)])
    written: list[str] = []
    original = store._execute

    async def recording(sql: str, params: Mapping[str, Any] | None) -> int:
        written.append(sql)
        return await original(sql, params)

    store._execute = recording  # type: ignore[method-assign]
    try:
        with counted(store) as read:
            assert await store.add_events([_event(BASE + k * 60_000) for k in range(90, 95)]) == 5
    finally:
        del store._execute
    [bounds] = [sql for sql in written if "event_hours" in sql]
    if store.dialect == "sqlite":
        assert not read, "one statement: the upsert reads the rows itself"
        plan = " | ".join(str(r["detail"]) for r in await store.fetch_all("EXPLAIN QUERY PLAN " + bounds, {"count": 5}))
        assert "SEARCH events USING INTEGER PRIMARY KEY (rowid>?)" in plan and "SCAN events" not in plan, plan
    else:
        [select] = read
        [row] = await store.fetch_all("EXPLAIN " + select)
        assert row["key"] == "PRIMARY" and row["type"] == "range", row


async def test_a_duplicate_event_leaves_the_bounds_as_they_were(store: Store) -> None:
    event = _event(BASE + 5 * HOUR_MS)
    assert await store.add_event(event)
    before = await _hours(store)
    assert not await store.add_event(event)
    assert await store.add_events([event, _event(BASE + 6 * HOUR_MS)]) == 1  # the batch again, one by one
    await _assert_bounds_cover(store)
    assert (await _hours(store))[480_005] == before[480_005]


async def test_two_instances_writing_the_same_hours_at_once_both_get_their_bounds() -> None:
    """Batches over the same hours, in opposite orders, from two instances of one MariaDB
    database at once: every event stored (no deadlock left unretried), every hour covered."""
    async with two_stores() as (first, second):
        async def write(store: Store, hours: list[int]) -> int:
            added = 0
            for round_ in range(15):
                added += await store.add_events([_event(BASE + h * HOUR_MS + round_) for h in hours])
            return added

        counts = await asyncio.gather(write(first, [1, 2, 3, 4]), write(second, [4, 3, 2, 1]), write(second, [2, 5, 1]))
        assert counts == [60, 60, 45]
        await _assert_bounds_cover(first)


async def test_pruning_by_age_drops_the_bounds_of_the_hours_it_emptied(store: Store) -> None:
    await _scrambled_log(store, seed=22)
    cut = BASE + 50 * HOUR_MS + HOUR_MS // 2
    await store.prune_events(cut, None)
    hours = await _hours(store)
    assert min(hours) == cut // HOUR_MS
    await _assert_bounds_cover(store)
    week = (BASE, BASE + 168 * HOUR_MS - 1)
    assert await window_pages(store, *week, 50) == await _straight(store, *week)


async def test_migrating_a_store_with_events_fills_the_bounds_of_its_hours(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events written before migration 26 (no bounds kept): the migration gives each hour its
    lowest and newest seq, and windows over them are exact."""
    store = await open_store(database_url)
    try:
        monkeypatch.setattr(gateway.store.base, "MIGRATIONS", tuple(m for m in MIGRATIONS if m[0] < 26))
        await store.migrate()
        rng = random.Random(26)
        for _ in range(200):  # as the gateway of migration 25 wrote them
            event = _event(BASE + rng.randrange(48 * HOUR_MS))
            await store.execute(
                "INSERT INTO events (id, created_at, action, repository, tag, digest, actor, body)"
                " VALUES (:id, :at, 'pull', 'team/app', NULL, NULL, 'alice', '{}')",
                {"id": event.id, "at": event.created_at_ms},
            )
        monkeypatch.setattr(gateway.store.base, "MIGRATIONS", MIGRATIONS)
        assert 26 in await store.migrate()
        assert await _hours(store) == await _true_hours(store)
        day = (BASE + 12 * HOUR_MS, BASE + 36 * HOUR_MS - 1)
        assert await window_pages(store, *day, 9) == await _straight(store, *day)
    finally:
        await store.close()
