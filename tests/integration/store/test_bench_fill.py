"""The big-store bench's fill (tests/bench/bigfill.py `fill`) writes rows straight through the
driver, the repositories' names' trigrams with them: a search of the filled store finds what
the LIKE scan of every name finds, or the bench would time searches that find nothing."""

from __future__ import annotations

from gateway.store import Store
from tests.bench import bigdata, bigfill
from tests.integration.store.test_bench_top_up import _connect
from tests.integration.store.test_grams import OLD_SCAN, _assert_index_matches_names

SHAPE = bigdata.Shape.at(0.01)


async def test_a_filled_store_finds_by_trigrams_what_the_scan_finds(store: Store, database_url: str) -> None:
    mark = "?" if store.dialect == "sqlite" else "%s"
    connection = _connect(database_url)
    try:
        filled = bigfill.fill(connection, mark, SHAPE, lambda _message: None)
    finally:
        connection.close()
    await _assert_index_matches_names(store)
    for text in ("app-0000", "team0000", filled.repositories[7], "/app-", "zebra"):
        found = [r.name for r in await store.search_repositories(text, "", 1000)]
        scanned = await store.fetch_all(OLD_SCAN, {"after": "", "pattern": f"%{text}%", "limit": 1000})
        assert found == [r["name"] for r in scanned], text
    assert [r.name for r in await store.search_repositories(filled.repositories[7])] == [filled.repositories[7]]
