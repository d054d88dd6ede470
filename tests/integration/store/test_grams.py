"""The trigram index of repository names (gateway/store/grams.py, migration 27): a search finds
exactly what the LIKE scan of every name finds, page by page; the index follows every insert
and delete of a repository row; the migration indexes the names already there; and a rare
term is found by reading its postings, however many names the store holds."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

import gateway.store.base
from gateway.store import Conflict, ManifestRow, Store, open_store
from gateway.store.base import named_to_pyformat
from gateway.store.grams import grams
from gateway.store.schema import MIGRATIONS
from gateway.store.sql import like_literal
from tests.support.processes import MariaDBServer
from tests.support.stores import two_stores

OLD_SCAN = "SELECT * FROM repositories WHERE name > :after AND name LIKE :pattern ESCAPE '!' ORDER BY name LIMIT :limit"
# Few letters, so that names share trigrams and texts match some names and not others.
LETTERS = "abc01.-_"
MEDIA = "application/vnd.oci.image.manifest.v1+json"


def _random_name(rng: random.Random) -> str:
    parts = ["".join(rng.choice("abc01") + "".join(rng.choice(LETTERS) for _ in range(rng.randint(0, 6))))
             for _ in range(rng.randint(1, 3))]
    return "/".join(parts)


async def _old_scan(store: Store, contains: str, after: str, limit: int) -> list[str]:
    rows = await store.fetch_all(OLD_SCAN, {"after": after, "pattern": "%" + like_literal(contains) + "%", "limit": limit})
    return [str(r["name"]) for r in rows]


async def _found(store: Store, contains: str, after: str = "", limit: int = 1000) -> list[str]:
    return [r.name for r in await store.search_repositories(contains, after, limit)]


async def _push(store: Store, repository: str, at: int = 1) -> None:
    await store.index_push(ManifestRow(repository, "sha256:" + "a" * 64, MEDIA, 10, None, None, None, at), "v1")


async def _index_state(store: Store) -> tuple[set[tuple[str, str]], dict[str, int]]:
    postings = {(str(r["gram"]), str(r["name"])) for r in await store.fetch_all("SELECT gram, name FROM repository_grams")}
    counts = {str(r["gram"]): int(r["n"]) for r in await store.fetch_all("SELECT gram, n FROM gram_counts") if int(r["n"])}
    return postings, counts


async def _assert_index_matches_names(store: Store) -> None:
    """The postings are exactly the distinct trigrams of the repositories' names, the counts
    exactly how many names hold each."""
    names = [str(r["name"]) for r in await store.fetch_all("SELECT name FROM repositories")]
    held = [(g, n) for n in names for g in grams(n)]
    assert await _index_state(store) == (set(held), dict(Counter(g for g, _ in held)))


def _texts(rng: random.Random, names: list[str]) -> list[str]:
    texts = ["", "a", "/", ".", "-", "_", "%", "!", "a/", "/a", "0.", "a_b", "a%b", "%_%", "!a!", "_-.", "/a/",
             "zzz", "zebra", "a b", "ab ", "c0/", "..", "__", "--", "/0-", "ABC"]
    for _ in range(60):  # substrings of names: texts that match, of every length
        name = rng.choice(names)
        start = rng.randrange(len(name))
        texts.append(name[start:start + rng.randint(1, 6)])
    texts += ["".join(rng.choice(LETTERS + "/") for _ in range(rng.randint(3, 4))) for _ in range(30)]
    return texts


async def test_a_search_finds_exactly_what_the_like_scan_finds_page_by_page(store: Store) -> None:
    rng = random.Random(26)
    names = sorted({_random_name(rng) for _ in range(400)})
    async with store.transaction():
        for name in names:
            await store.import_repository(name, 1, None, None)
    await _assert_index_matches_names(store)
    for contains in _texts(rng, names):
        wanted = contains.lower()  # as search_text gives it
        afters = ["", rng.choice(names), rng.choice(names)[:2], "b", "~"]
        for after in afters:
            for limit in (1, 7, 1000):
                assert await _found(store, wanted, after, limit) == await _old_scan(store, wanted, after, limit), (
                    wanted, after, limit,
                )
        paged: list[str] = []
        after = ""
        while True:
            page = await _found(store, wanted, after, 5)
            paged += page
            if len(page) < 5:
                break
            after = page[-1]
        assert paged == await _old_scan(store, wanted, "", 10_000)


async def test_the_index_follows_pushes_imports_and_forgotten_repositories(store: Store) -> None:
    await _push(store, "team/app")
    await _push(store, "team/app", at=2)  # pushed again: indexed once
    await _push(store, "team/app", at=2)  # and again within the same second: its row unchanged
    await _push(store, "team/apple")
    await store.import_repository("other/app", 1, None, None)
    await _push(store, "ab")  # no trigram at all
    await _assert_index_matches_names(store)
    _, counts = await _index_state(store)
    assert counts["app"] == 3 and counts["ppl"] == 1 and counts["tea"] == 2
    assert await _found(store, "app") == ["other/app", "team/app", "team/apple"]

    await store.forget_repository("team/apple")
    await store.forget_repository("team/apple")  # gone already: nothing counted twice
    await store.forget_repository("ab")
    await _assert_index_matches_names(store)
    assert await _found(store, "app") == ["other/app", "team/app"]
    assert await _found(store, "pple") == []
    _, counts = await _index_state(store)
    assert "ppl" not in counts and counts["app"] == 2

    await _push(store, "team/apple", at=3)  # pushed again after it was forgotten
    await _assert_index_matches_names(store)
    assert await _found(store, "pple") == ["team/apple"]


async def test_an_import_that_fails_leaves_no_trigrams(store: Store) -> None:
    await store.import_repository("team/app", 1, None, None)
    with pytest.raises(Conflict):
        await store.import_repository("team/app", 1, None, None)
    await _assert_index_matches_names(store)


def _level_before_grams() -> int:
    """How many migrations precede the one that creates the trigram tables."""
    for position, (_, statements) in enumerate(MIGRATIONS):
        if any("repository_grams (" in str(s) for s in statements):
            return position
    raise AssertionError("no migration creates repository_grams")


async def test_the_migration_indexes_the_repositories_already_there(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_store(database_url)
    try:
        monkeypatch.setattr(gateway.store.base, "MIGRATIONS", MIGRATIONS[:_level_before_grams()])
        await store.migrate()
        names = ["ab", "a/b", "team/app", "team/apple", "team/a.b-c_d", "x" * 60 + "/" + "y" * 194, "aaaa/aaaa"]
        for name in names:
            await store.execute("INSERT INTO repositories (name, created_at) VALUES (:name, 1)", {"name": name})
        monkeypatch.setattr(gateway.store.base, "MIGRATIONS", MIGRATIONS)
        await store.migrate()
        await _assert_index_matches_names(store)
        _, counts = await _index_state(store)
        assert counts["aaa"] == 1  # distinct per name: "aaaa/aaaa" holds it four times
        assert await _found(store, "app") == ["team/app", "team/apple"]
        assert await _found(store, "yyy", limit=5) == ["x" * 60 + "/" + "y" * 194]
        assert await _found(store, "b-c_") == ["team/a.b-c_d"]
    finally:
        await store.close()


Work = Callable[[list[tuple[str, dict[str, Any]]]], int]


def _work_on_a_side_connection(store: Store, database_url: str) -> Work:
    """How much the database does to run some statements again, on a connection of its own:
    SQLite's virtual machine steps, MariaDB's handler reads (rows and index entries read)."""
    if store.dialect == "sqlite":
        path = database_url.removeprefix("sqlite:///")

        def sqlite_work(statements: list[tuple[str, dict[str, Any]]]) -> int:
            steps = [0]

            def step() -> int:
                steps[0] += 1
                return 0

            connection = sqlite3.connect(path)
            try:
                connection.set_progress_handler(step, 1)
                for sql, params in statements:
                    connection.execute(sql, params).fetchall()
            finally:
                connection.close()
            return steps[0]

        return sqlite_work

    database = urlsplit(database_url).path.lstrip("/")

    def mariadb_work(statements: list[tuple[str, dict[str, Any]]]) -> int:
        connection = MariaDBServer.from_environment().connect(database=database)
        try:
            with connection.cursor() as cursor:
                def reads() -> int:
                    cursor.execute("SHOW SESSION STATUS LIKE 'Handler_read%'")
                    return sum(int(row[1]) for row in cursor.fetchall())

                before = reads()
                for sql, params in statements:
                    cursor.execute(named_to_pyformat(sql), params)
                    cursor.fetchall()
                return reads() - before
        finally:
            connection.close()

    return mariadb_work


async def _recorded(store: Store, call: Callable[[], Awaitable[object]]) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    original = store.fetch_all

    async def recording(sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        seen.append((sql, dict(params or {})))
        return await original(sql, params)  # type: ignore[return-value]

    store.fetch_all = recording  # type: ignore[method-assign]
    try:
        await call()
    finally:
        del store.fetch_all
    return seen


async def _add_repositories(store: Store, start: int, stop: int) -> None:
    async with store.transaction():
        for i in range(start, stop):
            await store.import_repository(f"team{i % 10}/app-{i:05d}", 1, None, None)


async def test_a_rare_term_is_read_from_its_postings_however_many_names_there_are(store: Store, database_url: str) -> None:
    """200 names, then 2,000, three of them with "zebra": finding those reads as much either
    way (the LIKE scan read every name after the cursor, ten times as many)."""
    work = _work_on_a_side_connection(store, database_url)
    for name in ("team1/zebra", "team2/zebra-b", "team3/old-zebra"):
        await store.import_repository(name, 1, None, None)
    await _add_repositories(store, 0, 200)
    measured = []
    for more in (0, 1800):
        await _add_repositories(store, 200, 200 + more)
        statements = await _recorded(store, lambda: store.search_repositories("zebra", "", 50))
        assert await _found(store, "zebra", "", 50) == ["team1/zebra", "team2/zebra-b", "team3/old-zebra"]
        measured.append(work(statements))
    small, big = measured
    assert big <= small * 1.5 + 20, measured


async def test_a_term_no_name_holds_ends_with_the_counts(store: Store) -> None:
    """A trigram no name holds answers the search with no read of any name."""
    await _add_repositories(store, 0, 50)
    for text in ("zebra", "app-00049x", "%%%"):
        statements = await _recorded(store, lambda text=text: store.search_repositories(text, "", 50))  # type: ignore[misc]
        assert [sql for sql, _ in statements] == [statements[0][0]] and "gram_counts" in statements[0][0], text
    assert await _found(store, "app-00049") == ["team9/app-00049"]


async def test_first_pushes_through_two_instances_at_once_index_each_name_once(database_url: str) -> None:
    """Two instances push the same new repositories at once, and new repositories that share
    most of their trigrams: every name is indexed exactly once and every count is exact (the
    claim of a name's first trigram decides who writes the rest; trigrams locked in order)."""
    names = [f"team/service-{i:02d}" for i in range(24)]
    async with two_stores(database_url) as (first, second):

        async def push(store: Store, name: str) -> None:
            await store.again_on_deadlock(lambda: _push(store, name))

        await asyncio.gather(*(push(store, name) for name in names for store in (first, second)))
        await _assert_index_matches_names(first)
        _, counts = await _index_state(first)
        assert counts["ser"] == len(names) and counts["-00"] == 1
        assert await _found(second, "service-1") == names[10:20]
