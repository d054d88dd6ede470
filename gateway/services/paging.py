"""Keyset pages of what the actor may see: the service lists filter rows by the actor's rights,
so they page here rather than in the API (which only reads `?after=` and `?limit=`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

# With a filter, rows are read in batches of at least this many until a page is full...
_FILTER_BATCH = 200
# ...and of twice as many after a batch of which the filter kept less than half, up to this
# many: a visitor who may see little of a long list reads the rows hidden from them in a few
# dozen statements rather than hundreds (each row is small; the statements are what cost).
_MAX_FILTER_BATCH = 3200


async def kept_items(
    fetch: Callable[[str, int], Awaitable[Sequence[T]]],
    key: Callable[[T], str],
    after: str,
    keep: Callable[[T], Awaitable[bool]],
    prepare: Callable[[Sequence[T]], Awaitable[None]] | None = None,
    skip: Callable[[T], str] | None = None,
    first_batch: int = 0,
) -> AsyncIterator[T]:
    """The items with keys after `after` that `keep` accepts, in key order, read in batches.

    `fetch(after, n)` returns up to n items with keys > after, in key order; `prepare(batch)`
    runs before `keep` sees a batch (see `page_of`). `skip(item)`, for an item `keep` refused
    that ends a batch: a key past it and every item after it that `keep` would refuse for the
    same reason (a repository's whole namespace), where the next batch starts instead.
    `first_batch`: how many the first batch reads, if more than the least.
    """
    size = max(_FILTER_BATCH, first_batch)
    while True:
        batch = await fetch(after, size)
        if prepare is not None:
            await prepare(batch)
        kept, last_kept = 0, False
        for item in batch:
            last_kept = await keep(item)
            if last_kept:
                kept += 1
                yield item
        if len(batch) < size:
            return
        last = batch[-1]
        after = skip(last) if skip is not None and not last_kept else key(last)
        if kept * 2 < len(batch):
            size = max(size, min(2 * size, _MAX_FILTER_BATCH))


async def first_kept(items: AsyncIterator[T], count: int) -> list[T]:
    """Up to `count` items of `items`, which is closed after them (read no further)."""
    taken: list[T] = []
    if count <= 0:
        return taken
    async with contextlib.aclosing(items):  # type: ignore[type-var]
        async for item in items:
            taken.append(item)
            if len(taken) == count:
                break
    return taken


async def page_of(
    fetch: Callable[[str, int], Awaitable[Sequence[T]]],
    key: Callable[[T], str],
    after: str,
    limit: int,
    keep: Callable[[T], Awaitable[bool]] | None = None,
    prepare: Callable[[Sequence[T]], Awaitable[None]] | None = None,
    skip: Callable[[T], str] | None = None,
) -> tuple[list[T], str | None]:
    """Up to `limit` items after `after` that `keep` accepts, and the key to go on from.

    `fetch(after, n)` returns up to n items with keys > after, in key order. One more item than
    the page holds is looked for, so the next key is None exactly when nothing follows.
    `prepare(batch)` runs before `keep` sees a batch: it looks up what deciding the whole batch
    needs in a few statements, so `keep` needs none of its own per item. `skip`: see
    `kept_items`.
    """
    if keep is None:
        items = list(await fetch(after, limit + 1))
    else:
        walk = kept_items(fetch, key, after, keep, prepare, skip, limit + 1)
        items = await first_kept(walk, limit + 1)
    if len(items) > limit:
        return items[:limit], key(items[limit - 1])
    return items, None
