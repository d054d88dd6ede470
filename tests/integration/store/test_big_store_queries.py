"""The queries that keep a big store O(page): retention in short statements (by age, and down
to a count with and without gaps in the sequence), a namespace's repositories read within the
namespace, the global namespace's from an index of their own, and the audit log's filters read from their indexes (migration 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.events.model import new_event_id
from gateway.store import CountMark, ManifestRow, NewEvent, Store, open_store
from tests.support.stores import counted, window_pages


def _event(created_at_ms: int, *, repository: str = "team/app", action: str = "pull", actor: str = "alice") -> NewEvent:
    return NewEvent(
        id=new_event_id(), created_at_ms=created_at_ms, action=action, repository=repository, tag="v1",
        digest="sha256:" + "0" * 64, actor=actor, body={"at": created_at_ms},
    )


async def _remaining(store: Store) -> list[int]:
    return sorted(e.created_at_ms for e in await store.list_events(limit=1000))


async def test_pruning_by_age_removes_exactly_the_old_events_a_chunk_at_a_time(store: Store) -> None:
    # created_at not in seq order: pull events are written in batches, by several processes
    moments = [5, 1, 7, 2, 9, 3, 11, 4, 6, 8, 10, 12]
    for at in moments:
        assert await store.add_event(_event(at))
    assert await store.prune_events(7, None, chunk=2) == 6
    assert await _remaining(store) == [7, 8, 9, 10, 11, 12]
    assert await store.prune_events(7, None, chunk=2) == 0


async def test_pruning_to_a_count_keeps_the_newest_even_across_gaps(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gateway.store.events._COUNT_STEP", 2)  # walk the newest rows in many short steps
    for at in range(1, 15):
        assert await store.add_event(_event(at))
    seqs = [e.seq for e in await store.list_events(limit=1000)]  # newest first
    gone = seqs[1:4]  # gaps among the newest (what failed inserts leave on MariaDB)
    await store.execute(f"DELETE FROM events WHERE seq IN ({', '.join(str(s) for s in gone)})")
    assert await store.prune_events(None, 5, chunk=2) == 6
    assert [e.seq for e in await store.list_events(limit=1000)] == [s for s in seqs if s not in gone][:5]


async def test_pruning_to_a_count_waits_until_the_log_outgrows_the_slack(store: Store) -> None:
    for at in range(1, 11):
        assert await store.add_event(_event(at))
    assert await store.prune_events(None, 8, slack=2) == 0, "10 events are within 8 + 2"
    assert await store.prune_events(None, 8, slack=1) == 2
    assert await _remaining(store) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert await store.prune_events(None, 20) == 0


async def test_a_namespaces_repositories_are_exactly_those_named_under_it(store: Store) -> None:
    for name in ("ns/a", "ns/a/b", "ns/b", "ns-x/c", "ns0/d", "nsa/e", "ns_/f", "n/g", "other/h"):
        manifest = ManifestRow(name, "sha256:" + "1" * 64, "application/vnd.oci.image.manifest.v1+json", 10, None, None, None, 1)
        await store.index_push(manifest, "v1")
    assert [r.name for r in await store.list_repositories_in("ns")] == ["ns/a", "ns/a/b", "ns/b"]
    assert [r.name for r in await store.list_repositories_in("ns", after="ns/a")] == ["ns/a/b", "ns/b"]
    assert [r.name for r in await store.list_repositories_in("ns", after="a", limit=1)] == ["ns/a"]
    assert await store.list_repositories_in("ns", after="ns/b") == []
    assert [r.name for r in await store.list_repositories_in("ns-x")] == ["ns-x/c"]


async def test_the_global_namespaces_repositories_are_one_range_of_their_own_index(store: Store) -> None:
    """Names without `/` only, in order after a cursor, from `repositories_global` (migration 29)
    and without a sort: the namespaced names between them are not read."""
    for name in ("a", "a/x", "a-b", "a-b/y", "b0", "b/z", "c"):
        await store.import_repository(name, 1, None, None)
    assert [r.name for r in await store.list_global_repositories()] == ["a", "a-b", "b0", "c"]
    assert [r.name for r in await store.list_global_repositories("a-b", 2)] == ["b0", "c"]
    with counted(store) as seen:
        await store.list_global_repositories("a", 100)
    params = {"after": "a", "limit": 100}
    if store.dialect == "sqlite":
        plan = await _plan(store, seen[0], params)
        assert "repositories_global (in_global=? AND name>?)" in plan and "TEMP B-TREE" not in plan, plan
    else:
        [row] = await store.fetch_all("EXPLAIN " + seen[0], params)
        assert row["key"] == "repositories_global" and "filesort" not in str(row["Extra"]), row


async def _plan(store: Store, sql: str, params: dict[str, object]) -> str:
    return " | ".join(str(r["detail"]) for r in await store.fetch_all("EXPLAIN QUERY PLAN " + sql, params))


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> Store:
    opened = await open_store(f"sqlite:///{tmp_path / 'plans.db'}")
    await opened.migrate()
    return opened


async def test_audit_filters_and_namespace_pages_read_only_their_index_range(sqlite_store: Store) -> None:
    """SQLite's plans, without statistics (the gateway never runs ANALYZE): each filter of the
    audit log is a range of its own index in seq order, not a walk of the log; a namespace's
    repositories are bounded on both sides."""
    store = sqlite_store
    try:
        listed = "SELECT * FROM events WHERE 1 = 1 AND {} ORDER BY seq DESC LIMIT 100"
        assert "events_by_action (action=?)" in await _plan(store, listed.format("action = :action"), {"action": "delete"})
        assert "events_by_actor (actor=?)" in await _plan(store, listed.format("actor = :actor"), {"actor": "alice"})
        both = listed.format("repository = :repository AND action = :action")
        plan = await _plan(store, both, {"repository": "team/app", "action": "push"})
        assert "events_by_repository_action (repository=? AND action=?)" in plan and "TEMP B-TREE" not in plan
        referrers = "SELECT * FROM manifests WHERE repository = :repository AND subject = :subject ORDER BY digest"
        plan = await _plan(store, referrers, {"repository": "team/app", "subject": "sha256:x"})
        assert "manifests_by_subject_digest (repository=? AND subject=?)" in plan and "TEMP B-TREE" not in plan
        with counted(store) as seen:
            await store.list_repositories_in("team")
        plan = await _plan(store, seen[0], {"after": "team/", "end": "team0", "pattern": "team/%", "limit": 100})
        assert "(name>? AND name<?)" in plan
    finally:
        await store.close()


async def test_a_time_window_in_the_past_pages_newest_first_like_any_other_filter(store: Store) -> None:
    moments = [10, 30, 20, 50, 40, 35, 70, 60, 25, 45, 55, 15]  # not in seq order
    for at in moments:
        assert await store.add_event(_event(at))
    everything = await store.list_events(limit=1000)
    expected = [e.seq for e in everything if 20 <= e.created_at_ms <= 50]
    assert [e.seq for e in await store.list_events(since_ms=20, until_ms=50, limit=1000)] == expected
    first = await store.list_events(since_ms=20, until_ms=50, limit=3)
    assert [e.seq for e in first] == expected[:3]
    rest = await store.list_events(since_ms=20, until_ms=50, before_seq=first[-1].seq, limit=1000)
    assert [e.seq for e in rest] == expected[3:]
    assert [e.seq for e in await store.list_events(until_ms=25, limit=1000)] == [
        e.seq for e in everything if e.created_at_ms <= 25
    ]
    assert await store.list_events(since_ms=80, until_ms=90) == []
    assert everything[0].body == {"at": 15}, "rows come back whole"
    assert [e.body for e in await store.list_events(until_ms=15)] == [{"at": 15}, {"at": 10}]


async def test_the_referrers_of_a_page_of_digests_come_in_one_statement(store: Store) -> None:
    def manifest(digest: str, subject: str | None) -> ManifestRow:
        return ManifestRow("team/app", digest, "application/vnd.oci.image.manifest.v1+json", 1, "sig", subject, None, 1)

    subjects = ["sha256:" + c * 64 for c in "abc"]
    for i, referrer in enumerate(["sha256:" + c * 64 for c in "fed"]):
        await store.index_push(manifest(referrer, subjects[0] if i < 2 else subjects[2]), "")
    await store.index_push(manifest("sha256:" + "9" * 64, subjects[0]), "")  # another repository's referrer
    found = await store.referrers_of("team/app", [*subjects, subjects[0]])
    assert found == {s: await store.referrers("team/app", s) for s in (subjects[0], subjects[2])}
    assert [m.digest[7] for m in found[subjects[0]]] == ["9", "e", "f"]
    assert await store.referrers_of("team/app", []) == {}


async def test_a_count_walk_is_not_repeated_until_new_events_outgrow_the_slack(store: Store) -> None:
    for at in range(1, 21):
        assert await store.add_event(_event(at))
    seqs = sorted(e.seq for e in await store.list_events(limit=1000))
    await store.execute(f"DELETE FROM events WHERE seq IN ({', '.join(str(s) for s in seqs[10:16])})")  # gaps
    mark = CountMark()
    walked: list[str] = []
    original = store.fetch_all

    async def recording(sql: str, params: dict[str, object] | None = None) -> list[dict[str, object]]:
        walked.extend([sql] if "OFFSET" in sql else [])
        return await original(sql, params)

    store.fetch_all = recording  # type: ignore[method-assign]
    try:
        assert await store.prune_events(None, 14, slack=1, mark=mark) == 0, "14 events: nothing to remove"
        assert len(walked) == 1 and (mark.top, mark.at_most) == (seqs[-1], 14)
        assert await store.prune_events(None, 14, slack=1, mark=mark) == 0
        assert len(walked) == 1, "MAX - MIN is 20 over 14 + 1, but no new event came: no second walk"
        assert await store.add_event(_event(21))
        assert await store.prune_events(None, 14, slack=1, mark=mark) == 0
        assert len(walked) == 1, "one new event is within the slack"
        assert await store.add_event(_event(22))
        assert await store.prune_events(None, 14, slack=1, mark=mark) == 2
    finally:
        del store.fetch_all
    assert await _remaining(store) == [3, 4, 5, 6, 7, 8, 9, 10, 17, 18, 19, 20, 21, 22]


async def test_a_count_walk_made_by_one_process_is_not_made_again_by_another(store: Store) -> None:
    """Each process (worker, instance, one restarted) has a mark of its own; the store keeps the
    latest walk's (migration 30), so a process with a fresh mark reads it rather than walking
    the newest keys again, until new events outgrow the slack."""
    for at in range(1, 21):
        assert await store.add_event(_event(at))
    seqs = sorted(e.seq for e in await store.list_events(limit=1000))
    await store.execute(f"DELETE FROM events WHERE seq IN ({', '.join(str(s) for s in seqs[10:16])})")  # gaps
    walked: list[str] = []
    original = store.fetch_one

    async def recording(sql: str, params: dict[str, object] | None = None) -> dict[str, object] | None:
        walked.extend([sql] if "events_by_seq" in sql else [])  # a step of the walk over the newest keys
        return await original(sql, params)

    store.fetch_one = recording  # type: ignore[method-assign]
    try:
        assert await store.prune_events(None, 14, slack=1, mark=CountMark()) == 0
        assert len(walked) == 1, "the first process walks"
        other = CountMark()
        assert await store.prune_events(None, 14, slack=1, mark=other) == 0
        assert len(walked) == 1 and (other.top, other.at_most) == (seqs[-1], 14), "another reads the walk's mark"
        for at in (21, 22):
            assert await store.add_event(_event(at))
        assert await store.prune_events(None, 14, slack=1, mark=CountMark()) == 2
        assert len(walked) == 2, "outgrown: walked (and 2 removed)"
        assert await store.prune_events(None, 14, slack=1, mark=CountMark()) == 0
        assert len(walked) == 2, "the mark of that walk, stored once its removals were done"
    finally:
        del store.fetch_one
    assert await _remaining(store) == [3, 4, 5, 6, 7, 8, 9, 10, 17, 18, 19, 20, 21, 22]


async def test_a_count_walk_steps_over_the_keys_alone(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Down to a count, the newest rows are stepped over in `events_by_seq` (migration 24), a
    narrow entry each, not through the table: with the rows whole that walk took 0.7-1.6 s for a
    million events on SQLite and 11-13 s on MariaDB, against 27 ms and 0.4-0.8 s."""
    monkeypatch.setattr("gateway.store.events._COUNT_STEP", 3)
    for at in range(1, 11):
        assert await store.add_event(_event(at))
    walked: list[tuple[str, dict[str, object]]] = []
    original = store.fetch_one

    async def recording(sql: str, params: dict[str, object] | None = None) -> dict[str, object] | None:
        walked.extend([(sql, dict(params or {}))] if "OFFSET" in sql else [])
        return await original(sql, params)

    store.fetch_one = recording  # type: ignore[method-assign]
    try:
        assert await store.prune_events(None, 4) == 6
    finally:
        del store.fetch_one
    assert await _remaining(store) == [7, 8, 9, 10]
    steps = [(sql, params) for sql, params in walked if "seq < :below" in sql]
    assert len(steps) == 2, walked  # 3 + 1 of the newest 4
    for sql, params in steps:
        # Named in the statement: on a million rows MariaDB's planner took the primary key for it.
        assert "events_by_seq" in sql
        if store.dialect == "sqlite":
            assert "COVERING INDEX events_by_seq" in await _plan(store, sql, params)
        else:
            [row] = await store.fetch_all("EXPLAIN " + sql, params)
            assert row["key"] == "events_by_seq" and "Using index" in str(row["Extra"]), row


HOUR_MS = 3_600_000


async def _window_log(store: Store) -> list[tuple[int, int]]:
    """About 400 events over 30 hours, as a busy log writes them (created_at rising with seq but
    for a jitter across hour boundaries), with late ones among them: an import's events of hours
    long past written last, and a batch an hour late. (seq, created_at) of each, oldest seq first."""
    base = 480_000 * HOUR_MS  # a whole hour, in 2024
    moments = [base + k * 270_000 - (k * 7_919) % 20_000 for k in range(400)]  # every 4.5 minutes, jittered
    moments[150:160] = [m - HOUR_MS for m in moments[150:160]]
    moments += [base + h * HOUR_MS + 1_000 * h for h in (2, 2, 7, 11, 11, 11, 20, 29)]  # late: the newest seqs
    events = [_event(at) for at in moments]
    for start in range(0, len(events), 100):
        assert await store.add_events(events[start:start + 100]) == len(events[start:start + 100])
    rows = await store.fetch_all("SELECT seq, created_at FROM events ORDER BY seq")
    return [(int(r["seq"]), int(r["created_at"])) for r in rows]


async def _straight(store: Store, since: int, until: int) -> list[int]:
    """The window's seqs newest first by the plain statement, no index named."""
    rows = await store.fetch_all(
        "SELECT seq FROM events WHERE created_at >= :since AND created_at <= :until ORDER BY seq DESC",
        {"since": since, "until": until},
    )
    return [int(r["seq"]) for r in rows]


async def test_a_time_window_read_by_the_hour_is_the_plain_query_page_by_page(store: Store) -> None:
    """Windows with edges inside hours and on them, over late events (an import's: old times,
    the newest seqs) and an hour-late batch, paged at several sizes: every page is the plain
    statement's, the cursor of one page gives the next exactly, and none is missed or repeated."""
    log = await _window_log(store)
    base = log[0][1] // HOUR_MS * HOUR_MS
    windows = [
        (base + 2 * HOUR_MS + 600_000, base + 4 * HOUR_MS + 1_800_000),  # edges inside hours
        (base + 2 * HOUR_MS, base + 3 * HOUR_MS - 1),  # exactly one hour
        (base + 7 * HOUR_MS, base + 7 * HOUR_MS + 1_000 * 7),  # one late event at its end
        (base, base + 30 * HOUR_MS),  # everything
        (base + 10 * HOUR_MS + 1, base + 12 * HOUR_MS),
        (base - 5 * HOUR_MS, base - 1),  # before the log: nothing
    ]
    for since, until in windows:
        expected = await _straight(store, since, until)
        assert expected == sorted((s for s, at in log if since <= at <= until), reverse=True)
        for limit in (1, 3, 7, 50, 1000):
            assert await window_pages(store, since, until, limit) == expected, (since, until, limit)
        assert all(e.created_at_ms >= since for e in await store.list_events(since_ms=since, until_ms=until))
    late = [s for s, _at in log[-8:]]
    day = await store.list_events(since_ms=base + 2 * HOUR_MS, until_ms=base + 3 * HOUR_MS - 1, limit=2)
    assert [e.seq for e in day] == sorted(late[:2], reverse=True), "the import's events are the window's newest"


async def test_a_time_window_reads_its_hours_from_their_index(store: Store) -> None:
    """The window's hours and their bounds come from event_hours (migration 26) in one statement,
    then a page of keys from `events_by_hour`: with events in time order, only the newest hour
    of the window is read."""
    log = await _window_log(store)
    base = log[0][1] // HOUR_MS * HOUR_MS
    seen: list[tuple[str, dict[str, object]]] = []
    original = store.fetch_all

    async def recording(sql: str, params: dict[str, object] | None = None) -> list[dict[str, object]]:
        seen.append((sql, dict(params or {})))  # fetch_one reads through fetch_all
        return await original(sql, params)

    store.fetch_all = recording  # type: ignore[method-assign]
    try:
        page = await store.list_events(since_ms=base + 14 * HOUR_MS, until_ms=base + 20 * HOUR_MS - 1, limit=5)
    finally:
        del store.fetch_all
    assert [e.seq for e in page] == (await _straight(store, base + 14 * HOUR_MS, base + 20 * HOUR_MS - 1))[:5]
    bounds, *hours, rows = seen
    assert "FROM event_hours" in bounds[0] and len(hours) == 1, "the bounds, then the newest hour only"
    for sql, params in hours:
        if store.dialect == "sqlite":
            plan = await _plan(store, sql, params)
            assert "COVERING INDEX events_by_hour (<expr>=?" in plan and "TEMP B-TREE" not in plan, plan
        else:
            for row in await store.fetch_all("EXPLAIN " + sql, params):
                if row["table"] == "events":
                    assert row["key"] == "events_by_hour" and "Using index" in str(row["Extra"]), row
                    assert "filesort" not in str(row["Extra"]), row
    assert "seq IN" in rows[0]


async def test_a_users_teams_are_read_from_their_memberships_a_page_at_a_time(store: Store) -> None:
    """The teams list of a non-admin: the teams they are a member of (any role), by name, paged;
    the same as every team filtered by the user's role in it, without reading the others."""
    await store.create_user("alice", "x")
    await store.create_user("bob", "x")
    for name in ("a1", "b2", "c3", "d4", "e5", "f6", "g7"):
        await store.create_team(name)
    for team, role in (("g7", "viewer"), ("b2", "owner"), ("d4", "contributor"), ("e5", "viewer")):
        await store.set_member(team, "alice", role)
    await store.set_member("c3", "bob", "owner")
    expected = [t.name for t in await store.list_teams() if await store.get_role(t.name, "alice") is not None]
    assert [t.name for t in await store.list_teams_of("alice")] == expected == ["b2", "d4", "e5", "g7"]
    assert [t.name for t in await store.list_teams_of("alice", "b2", 2)] == ["d4", "e5"]
    assert [t.name for t in await store.list_teams_of("alice", "g7")] == []
    assert [t.name for t in await store.list_teams_of("nobody")] == []
    assert (await store.list_teams_of("bob"))[0].created_at > 0


async def test_the_home_pages_pushes_read_a_range_of_the_action_index_a_chunk_at_a_time(store: Store) -> None:
    """A later chunk of the newest pushes (`seq < before`) starts where the last one stopped in
    `events_by_action (action, seq)`: a range, not the ref of every push filtered row by row
    (MariaDB's own choice, which read the chunks before it again)."""
    rows = [
        NewEvent(new_event_id(), 1_000 + i, "push" if i % 2 else "pull", "team/app", f"v{i}", "sha256:x", "alice", {})
        for i in range(40)
    ]
    await store.add_events(rows)
    seen: list[tuple[str, dict[str, object]]] = []
    original = store.fetch_all

    async def recording(sql: str, params: dict[str, object] | None = None) -> list[dict[str, object]]:
        seen.append((sql, dict(params or {})))
        return await original(sql, params)

    store.fetch_all = recording  # type: ignore[method-assign]
    try:
        first, before = await store.recent_tag_pushes(5)
        second, end = await store.recent_tag_pushes(5, before)
        rest, none_left = await store.recent_tag_pushes(50, end)
    finally:
        del store.fetch_all
    tags = [p.tag for p in first + second + rest]
    assert tags == [f"v{i}" for i in range(39, 0, -2)] and before == first[-1].seq and none_left is None
    sql, params = seen[1]
    if store.dialect == "sqlite":
        assert "events_by_action (action=? AND seq<?)" in await _plan(store, sql, params)
    else:
        [row] = await store.fetch_all("EXPLAIN " + sql, params)
        assert row["key"] == "events_by_action" and row["type"] == "range", row
        assert "filesort" not in str(row["Extra"]), row
