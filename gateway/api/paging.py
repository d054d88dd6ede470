"""Keyset paging: `?limit=` (1-1000, default 100) and `?after=NAME`; answers `{items, next}`.

Keyset rather than offsets so a page stays correct while rows are added or removed, and so a
filtered list (teams a user belongs to, repositories they may pull) pages the same way.
"""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from gateway.api.errors import bad_request
from gateway.services.paging import page_of

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_AFTER = 255

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    after: str = ""


def page_request(request: web.Request) -> PageRequest:
    raw_limit = request.query.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isascii() or not raw_limit.isdigit() or len(raw_limit) > 7 or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise bad_request(f"limit must be an integer from 1 to {MAX_LIMIT}")
        limit = int(raw_limit)
    after = request.query.get("after", "")
    if len(after) > MAX_AFTER:
        raise bad_request(f"after must be at most {MAX_AFTER} characters")
    return PageRequest(limit, after)


def page_body(items: list[dict[str, Any]], next_key: str | None) -> dict[str, Any]:
    return {"items": items, "next": next_key}


async def collect(
    fetch: Callable[[str, int], Awaitable[Sequence[T]]],
    key: Callable[[T], str],
    page: PageRequest,
    keep: Callable[[T], Awaitable[bool]] | None = None,
) -> tuple[list[T], str | None]:
    """Up to `page.limit` items after `page.after` that `keep` accepts, and the key to go on from
    (see gateway.services.paging)."""
    return await page_of(fetch, key, page.after, page.limit, keep)


def in_memory(items: Sequence[T], key: Callable[[T], str]) -> Callable[[str, int], Awaitable[Sequence[T]]]:
    """A `fetch` over an in-memory list (sorted here by key) for `collect`."""
    ordered = sorted(items, key=key)
    keys = [key(item) for item in ordered]

    async def fetch(after: str, count: int) -> Sequence[T]:
        start = bisect.bisect_right(keys, after)
        return ordered[start : start + count]

    return fetch
