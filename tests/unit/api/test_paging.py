"""Keyset paging: `next` is null exactly at the end, filters page the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateway.api.paging import PageRequest, collect, in_memory

NAMES = [f"n{i:03d}" for i in range(25)]


async def walk(limit: int, keep: Callable[[str], Awaitable[bool]] | None = None) -> list[list[str]]:
    pages: list[list[str]] = []
    after = ""
    while True:
        items, next_key = await collect(in_memory(NAMES, str), str, PageRequest(limit, after), keep)
        pages.append(items)
        if next_key is None:
            return pages
        assert next_key == items[-1]
        assert len(pages) <= len(NAMES), "the walk never ends"
        after = next_key


@pytest.mark.parametrize("limit", [1, 2, 5, 24, 25, 26, 1000])
async def test_pages_cover_everything_once(limit: int) -> None:
    pages = await walk(limit)
    assert [n for page in pages for n in page] == NAMES
    assert all(len(page) == limit for page in pages[:-1])
    assert len(pages) == max(1, -(-len(NAMES) // limit))


async def test_next_is_null_when_the_last_page_is_exactly_full() -> None:
    items, next_key = await collect(in_memory(NAMES, str), str, PageRequest(25, ""))
    assert len(items) == 25 and next_key is None


async def test_filtered_pages_skip_rejected_items() -> None:
    async def even(name: str) -> bool:
        return int(name[1:]) % 2 == 0

    pages = await walk(3, even)
    assert [n for page in pages for n in page] == [n for n in NAMES if int(n[1:]) % 2 == 0]
    assert all(len(page) == 3 for page in pages[:-1])


async def test_after_an_unknown_key_starts_at_the_next_name() -> None:
    items, _ = await collect(in_memory(NAMES, str), str, PageRequest(2, "n010x"))
    assert items == ["n011", "n012"]


async def test_reads_of_a_filtered_list_stop_when_the_page_is_full() -> None:
    reads: list[tuple[str, int]] = []
    fetch = in_memory([f"x{i:05d}" for i in range(10_000)], str)

    async def counting(after: str, count: int) -> list[str]:
        reads.append((after, count))
        return list(await fetch(after, count))

    async def everything(_: str) -> bool:
        return True

    items, next_key = await collect(counting, str, PageRequest(10, ""), everything)
    assert len(items) == 10 and next_key == "x00009" and len(reads) == 1
