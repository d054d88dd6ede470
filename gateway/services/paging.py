"""Keyset pages of what the actor may see: the service lists filter rows by the actor's rights,
so they page here rather than in the API (which only reads `?after=` and `?limit=`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

# With a filter, rows are read in batches of at least this many until a page is full.
_FILTER_BATCH = 200


async def page_of(
    fetch: Callable[[str, int], Awaitable[Sequence[T]]],
    key: Callable[[T], str],
    after: str,
    limit: int,
    keep: Callable[[T], Awaitable[bool]] | None = None,
    prepare: Callable[[Sequence[T]], Awaitable[None]] | None = None,
) -> tuple[list[T], str | None]:
    """Up to `limit` items after `after` that `keep` accepts, and the key to go on from.

    `fetch(after, n)` returns up to n items with keys > after, in key order. One more item than
    the page holds is looked for, so the next key is None exactly when nothing follows.
    `prepare(batch)` runs before `keep` sees a batch: it looks up what deciding the whole batch
    needs in a few statements, so `keep` needs none of its own per item.
    """
    batch_size = limit + 1 if keep is None else max(_FILTER_BATCH, limit + 1)
    kept: list[T] = []
    while True:
        batch = await fetch(after, batch_size)
        if prepare is not None and keep is not None:
            await prepare(batch)
        for item in batch:
            if keep is None or await keep(item):
                kept.append(item)
                if len(kept) > limit:
                    return kept[:limit], key(kept[limit - 1])
        if len(batch) < batch_size:
            return kept, None
        after = key(batch[-1])
