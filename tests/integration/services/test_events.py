"""The audit log's query as a service: admins see every event whole; others only events of
repositories they may pull, without another user's address, user agent or application token
name, a mount's source they may not pull, or the gateway's address. Filters and pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from gateway.auth.namespaces import PullFilter
from gateway.auth.policy import Identity, TokenLimits
from gateway.auth.sealing import PREFIX, Sealer, new_key
from gateway.events.model import Event, RequestInfo, Target, new_event_id
from gateway.events.recorder import to_row
from gateway.services import events
from gateway.services.context import Services
from gateway.services.errors import Invalid
from gateway.services.event_cursors import EventCursors
from gateway.services.events import BATCH, MAX_ROWS_READ, EventQuery
from gateway.store import EventRow, NewEvent, Store, TagPush
from tests.support.stores import counted

ROOT = Identity("root", admin=True)
ALICE = Identity("alice")


async def _record(
    services: Services, actor: str, action: str, repository: str, *, source: str = "", token: str = "", at: float = 1000.0
) -> None:
    request = RequestInfo(new_event_id(), f"10.0.0.{len(actor)}", "registry.example", "PUT", f"{actor}-agent")
    target = Target(repository, digest="sha256:" + "b" * 64, from_repository=source)
    event = Event(new_event_id(), at, action, target, request, actor, token, "192.0.2.1", "gw-1")
    assert await services.store.add_event(to_row(event))


@pytest.fixture
async def log(services: Services) -> Services:
    """alice and bob, each with a private personal namespace, a public one, and events:
    bob pushes to his own and to the public namespace, alice mounts from bob's into hers."""
    store = services.store
    for name in ("root", "alice", "bob"):
        await store.create_user(name, "x", admin=name == "root")
    await store.create_namespace("pub", None, "public")
    await _record(services, "bob", "push", "bob/secret", token="bob-ci", at=1000.0)
    await _record(services, "bob", "push", "pub/app", token="bob-ci", at=2000.0)
    await _record(services, "alice", "mount", "alice/app", source="bob/secret", token="alice-laptop", at=3000.0)
    await _record(services, "alice", "mount", "alice/tool", source="pub/app", at=4000.0)
    return services


async def test_admins_see_every_event_whole(log: Services) -> None:
    page = await events.list_events(log, ROOT, EventQuery())
    assert [e.body["target"]["repository"] for e in page.items] == ["alice/tool", "alice/app", "pub/app", "bob/secret"]
    pushed = page.items[-1].body
    assert pushed["request"]["addr"] == "10.0.0.3" and pushed["actor"]["applicationToken"] == "bob-ci"
    assert pushed["source"]["addr"] == "192.0.2.1" and page.next is None


async def test_others_see_only_events_of_repositories_they_may_pull(log: Services) -> None:
    page = await events.list_events(log, ALICE, EventQuery())
    assert [e.body["target"]["repository"] for e in page.items] == ["alice/tool", "alice/app", "pub/app"]


async def test_another_users_address_agent_and_token_name_are_hidden(log: Services) -> None:
    page = await events.list_events(log, ALICE, EventQuery(repository="pub/app"))
    [bobs] = [e.body for e in page.items]
    assert bobs["actor"] == {"name": "bob"}
    assert bobs["request"]["addr"] == "" and bobs["request"]["useragent"] == ""
    assert bobs["source"] == {"addr": "", "instanceID": "gw-1"}


async def test_own_events_keep_address_and_token_name_but_not_the_gateways_address(log: Services) -> None:
    page = await events.list_events(log, ALICE, EventQuery(repository="alice/app"))
    [own] = [e.body for e in page.items]
    assert own["actor"] == {"name": "alice", "applicationToken": "alice-laptop"}
    assert own["request"]["addr"] == "10.0.0.5" and own["request"]["useragent"] == "alice-agent"
    assert own["source"]["addr"] == ""


async def test_a_mount_source_the_reader_may_not_pull_is_hidden(log: Services) -> None:
    page = await events.list_events(log, ALICE, EventQuery(action="mount"))
    sources = {e.body["target"]["repository"]: e.body["target"].get("fromRepository") for e in page.items}
    assert sources == {"alice/app": None, "alice/tool": "pub/app"}
    whole = await events.list_events(log, ROOT, EventQuery(repository="alice/app"))
    assert whole.items[0].body["target"]["fromRepository"] == "bob/secret"


async def test_an_application_tokens_limits_narrow_what_is_seen(log: Services) -> None:
    limited = Identity("alice", limits=TokenLimits("t1", "ci", frozenset({"pub"}), frozenset({"pull"}), None))
    page = await events.list_events(log, limited, EventQuery())
    assert [e.body["target"]["repository"] for e in page.items] == ["pub/app"]


async def test_a_non_admin_pages_by_cursors_through_exactly_the_events_they_see(log: Services) -> None:
    """One event a page, going on by the sealed cursor of each page: the pages hold what one page
    holds, though bob's private push lies between, and no cursor is a number."""
    await _record(log, "bob", "push", "bob/secret", at=3500.0)  # between alice's two mounts
    cursors = EventCursors(Sealer([new_key()]))
    whole = await events.list_events(log, ALICE, EventQuery())
    seen: list[str] = []
    after = ""
    for _ in range(len(whole.items) + 1):
        page = await events.list_events(log, ALICE, EventQuery(limit=1, before_seq=cursors.start(ALICE, after)))
        seen += [e.body["id"] for e in page.items]
        if page.next is None:
            break
        after = cursors.next_of(ALICE, page.next)
        assert after.startswith(PREFIX) and not after.isdigit()
    assert seen == [e.body["id"] for e in whole.items] and len(seen) == 3


async def test_filters_and_pages_go_newest_first(log: Services) -> None:
    first = await events.list_events(log, ALICE, EventQuery(limit=2))
    assert [e.body["target"]["repository"] for e in first.items] == ["alice/tool", "alice/app"]
    assert first.next == first.items[-1].seq
    rest = await events.list_events(log, ALICE, EventQuery(limit=2, before_seq=first.next))
    assert [e.body["target"]["repository"] for e in rest.items] == ["pub/app"] and rest.next is None
    timed = await events.list_events(log, ROOT, EventQuery(since_ms=2_000_000, until_ms=3_000_000))
    assert [e.body["target"]["repository"] for e in timed.items] == ["alice/app", "pub/app"]
    by_actor = await events.list_events(log, ROOT, EventQuery(actor="bob"))
    assert {e.body["actor"]["name"] for e in by_actor.items} == {"bob"} and len(by_actor.items) == 2


def _event_row(actor: str, repository: str, at: float) -> NewEvent:
    request = RequestInfo(new_event_id(), "10.0.0.7", "registry.example", "PUT", f"{actor}-agent")
    return to_row(Event(new_event_id(), at, "push", Target(repository, tag="t"), request, actor, "", "192.0.2.1", "gw-1"))


@contextmanager
def rows_read(store: Store) -> Iterator[list[int]]:
    """How many rows each `store.list_events` call inside the block returned."""
    read: list[int] = []
    original = store.list_events

    async def reading(**filters: object) -> list[EventRow]:
        rows = await original(**filters)  # type: ignore[arg-type]
        read.append(len(rows))
        return rows

    store.list_events = reading  # type: ignore[method-assign]
    try:
        yield read
    finally:
        del store.list_events


async def test_a_user_who_may_see_none_of_many_events_gets_an_empty_page_that_goes_on_after_bounded_reads(
    log: Services,
) -> None:
    """More of bob's private pushes than a request reads, above what alice may see: her first
    page is empty but has a `next`, and read MAX_ROWS_READ rows a batch a statement, not the log."""
    store = log.store
    assert await store.add_events([_event_row("bob", "bob/secret", 10_000.0 + i) for i in range(MAX_ROWS_READ + 50)])
    with rows_read(store) as read:
        with counted(store) as statements:
            first = await events.list_events(log, ALICE, EventQuery())
        assert first.items == [] and first.next is not None
        assert sum(read) == MAX_ROWS_READ and len([s for s in statements if "FROM events" in s]) == MAX_ROWS_READ // BATCH
        others = [s for s in statements if "FROM events" not in s]
        assert len(others) == len(set(others)) <= 3, others  # bob's namespace looked up once, not a batch
        rest = await events.list_events(log, ALICE, EventQuery(before_seq=first.next))
    assert [e.body["target"]["repository"] for e in rest.items] == ["alice/tool", "alice/app", "pub/app"]
    assert rest.next is None and sum(read) == MAX_ROWS_READ + 50 + 4


@pytest.mark.parametrize(
    "query",
    [
        EventQuery(limit=3),
        EventQuery(limit=3, action="push"),
        EventQuery(limit=3, since_ms=9_000_000, until_ms=20_000_000),  # through the time index's hours
        EventQuery(limit=3, until_ms=20_000_000),
    ],
    ids=["all", "action", "window", "until"],
)
async def test_following_the_cursors_of_short_pages_finds_each_visible_event_once_newest_first(
    log: Services, query: EventQuery,
) -> None:
    """240 events, one in thirty alice may see and a run of ten, read 25 rows a request: pages
    come full, short or empty with a `next`, no request reads more than 25 rows, and following the
    sealed cursors to the end gives exactly what alice may see, newest first, each once. The
    admin's pages stay full."""
    store = log.store
    placed = [
        ("alice", "alice/sprinkled") if i % 30 == 7 or 100 <= i < 110 else ("bob", "bob/secret") for i in range(240)
    ]
    assert await store.add_events([_event_row(actor, repository, 10_000.0 + i) for i, (actor, repository) in enumerate(placed)])
    admin_whole = (await events.list_events(log, ROOT, EventQuery(limit=1000, since_ms=query.since_ms, until_ms=query.until_ms))).items
    visible = PullFilter(store, ALICE, log.rules)
    expected = [
        e.body["id"] for e in admin_whole
        if await visible.allows(e.body["target"]["repository"]) and (query.action is None or e.body["action"] == query.action)
    ]
    assert len(expected) >= 17
    cursors = EventCursors(Sealer([new_key()]))
    seen: list[str] = []
    sizes: list[int] = []
    after = ""
    with rows_read(store) as read:
        for _ in range(len(placed)):
            read.clear()
            asked = dataclasses.replace(query, before_seq=cursors.start(ALICE, after))
            page = await events.list_events(log, ALICE, asked, max_rows_read=25)
            assert sum(read) <= 25
            seen += [e.body["id"] for e in page.items]
            sizes.append(len(page.items))
            if page.next is None:
                break
            after = cursors.next_of(ALICE, page.next)
            assert after.startswith(PREFIX) and not after.isdigit()
        else:
            pytest.fail("the pages never ended")
    assert seen == expected
    assert 0 in sizes[:-1] and 3 in sizes, sizes  # some pages were cut short by the rows read, some filled

    admin_pages: list[list[str]] = []
    before = None
    while len(admin_pages) <= len(admin_whole):
        page = await events.list_events(log, ROOT, dataclasses.replace(query, action=None, limit=10, before_seq=before), max_rows_read=5)
        admin_pages.append([e.body["id"] for e in page.items])
        if page.next is None:
            break
        assert len(page.items) == 10 and page.next == page.items[-1].seq, "an admin's pages are full, whatever the bound"
        before = page.next
    assert [i for p in admin_pages for i in p] == [e.body["id"] for e in admin_whole]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (EventQuery(action="tag"), "action must be one of push, pull, mount, delete, portus"),
        (EventQuery(repository="Bad Name"), "not a valid repository name"),
        (EventQuery(actor="no spaces please"), "not a valid user name"),
    ],
)
async def test_bad_filters_are_invalid(services: Services, query: EventQuery, problem: str) -> None:
    with pytest.raises(Invalid, match=problem):
        await events.list_events(services, ROOT, query)


async def test_a_repository_the_asker_may_not_pull_is_answered_without_reading_the_log(
    log: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[object] = []
    original = log.store.list_events

    async def recording(**filters: object) -> object:
        reads.append(filters)
        return await original(**filters)  # type: ignore[arg-type]

    monkeypatch.setattr(log.store, "list_events", recording)
    page = await events.list_events(log, ALICE, EventQuery(repository="bob/secret"))
    assert page.items == [] and page.next is None and reads == []
    assert [e.body["target"]["repository"] for e in (await events.list_events(log, ALICE, EventQuery(repository="pub/app"))).items] == [
        "pub/app"
    ]
    assert len(reads) == 1


async def _push(services: Services, actor: str, repository: str, tag: str, at: float) -> None:
    request = RequestInfo(new_event_id(), "10.0.0.9", "registry.example", "PUT", f"{actor}-agent")
    target = Target(repository, digest="sha256:" + "c" * 64, tag=tag)
    assert await services.store.add_event(to_row(Event(new_event_id(), at, "push", target, request, actor, "bob-ci", "192.0.2.1", "gw-1")))


async def test_recent_pushes_are_the_newest_of_tags_the_asker_may_see_within_the_window(log: Services) -> None:
    for at, (repository, tag) in enumerate((("bob/secret", "v1"), ("pub/app", "v1"), ("bob/later", "v2")), 5000):
        await _push(log, "bob", repository, tag, float(at))
    await _record(log, "bob", "push", "pub/app", at=6000.0)  # by digest: no tag
    newest = await events.recent_pushes(log, ROOT, 2)
    assert [(p.repository, p.tag, p.actor, p.created_at_ms) for p in newest] == [
        ("bob/later", "v2", "bob", 5_002_000), ("pub/app", "v1", "bob", 5_001_000),
    ]
    assert [p.repository for p in await events.recent_pushes(log, ALICE, 5)] == ["pub/app"]
    assert [p.repository for p in await events.recent_pushes(log, Identity(""), 5)] == ["pub/app"]
    assert await events.recent_pushes(log, ALICE, 5, window=2) == []  # pub/app:v1 is not among the newest two pushes


async def test_recent_pushes_read_a_chunk_at_a_time_and_find_what_the_whole_window_holds(log: Services) -> None:
    """Older to newer: a push alice may see, 60 bob's private ones, 60 by digest, 10 public: the
    newest of the log are read 50 at a time (a page that fills early reads one chunk), and every
    window finds what one read of the whole window, each push decided alone, would."""
    store = log.store
    await _push(log, "bob", "pub/app", "old", 7000.0)
    for i in range(60):
        await _push(log, "bob", "bob/secret", f"s{i}", 7001.0 + i)
    for i in range(60):
        await _record(log, "bob", "push", "pub/app", at=7100.0 + i)  # by digest: no tag
    for i in range(10):
        await _push(log, "bob", "pub/app", f"n{i}", 7200.0 + i)
    limits: list[object] = []
    original = store.fetch_all

    async def recording(sql: str, params: dict[str, object] | None = None) -> list[dict[str, object]]:
        if "FROM events" in sql:
            limits.append((params or {}).get("limit"))
        return await original(sql, params)

    store.fetch_all = recording  # type: ignore[method-assign]
    try:
        assert [p.tag for p in await events.recent_pushes(log, ROOT, 3)] == ["n9", "n8", "n7"]
        assert limits == [50]
        for who in (ROOT, ALICE, Identity("")):
            for window in (60, 71, 130, 131, 500):
                limits.clear()
                found = await events.recent_pushes(log, who, 12, window=window)
                assert limits and all(isinstance(n, int) and n <= 50 for n in limits)
                whole, _ = await original_pushes(log, window)
                expected = [p for p in whole if await PullFilter(store, who, log.rules).allows(p.repository)][:12]
                assert found == expected, (who, window)
    finally:
        del store.fetch_all
    assert [p.tag for p in await events.recent_pushes(log, ALICE, 12, window=131)][-2:] == ["n0", "old"]
    assert [p.tag for p in await events.recent_pushes(log, ALICE, 12, window=130)][-1] == "n0"


async def original_pushes(services: Services, window: int) -> tuple[list[TagPush], int | None]:
    """The whole window in one read, as the home page read it before it read chunks."""
    return await services.store.recent_tag_pushes(window)


async def test_the_same_audit_page_asked_again_reads_only_the_events(services: Services) -> None:
    """Two batches over 60 namespaces: the second request reads the two batches and nothing
    about the namespaces (the store keeps them while its data version is unchanged)."""
    store = services.store
    await store.create_user("alice", "x")
    for n in range(60):
        await store.create_team(f"team{n}")
        await store.create_namespace(f"team{n}", f"team{n}", "private")
        if n % 6 == 0:
            await store.set_member(f"team{n}", "alice", "viewer")
    for n in range(2 * BATCH + 100):  # she may see one in six: a page of 100 takes two batches
        await _record(services, "bob", "push", f"team{n % 60}/app", at=1000.0 + n)
    await store.poll_version()  # what the change watch does every 0.25 s
    pages, reads = [], []
    for _ in range(2):
        with counted(store) as statements:
            pages.append(await events.list_events(services, ALICE, EventQuery()))
        reads.append(statements)
    assert pages[0] == pages[1] and len(pages[0].items) == 100
    assert {e.body["target"]["repository"] for e in pages[0].items} == {f"team{n}/app" for n in range(0, 60, 6)}
    assert len(reads[0]) == 2 + 4, reads[0]  # the second batch's namespaces were all looked up in the first
    assert len(reads[1]) == 2 and all("FROM events" in sql for sql in reads[1]), reads[1]
