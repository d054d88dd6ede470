"""The grant cache: answers kept for a few spread-out seconds on the data version they were made on,
no longer; decisions and answers bounded by their bytes, decisions expiring."""

from __future__ import annotations

import random
import tracemalloc

from gateway.auth.grant_cache import ANSWER_BYTES, MAX_BYTES, MAX_ENTRY_BYTES, GrantCache, decision_size
from gateway.auth.policy import ANONYMOUS
from gateway.auth.scopes import Scope

KEY = GrantCache.key("Basic YWxpY2U6cHc=", "registry.test", ["repository:alice/app:pull"])


def test_an_answer_is_given_again_within_its_hold_on_the_same_version() -> None:
    cache = GrantCache(answer_seconds=4.0)
    cache.keep_answer(KEY, b"v1", 1000, b'{"token":"t"}', now=1000.3)
    assert cache.answer(KEY, b"v1", 1000.9) == b'{"token":"t"}'
    assert cache.answer(KEY, b"v1", 1001.99) == b'{"token":"t"}', "half the hold is the least an answer is kept"


def test_an_answer_is_not_given_after_its_hold_or_on_another_version() -> None:
    cache = GrantCache(answer_seconds=4.0)
    cache.keep_answer(KEY, b"v1", 1000, b'{"token":"t"}', now=1000.3)
    assert cache.answer(KEY, b"v1", 1004.0) is None, "the whole hold is the most"
    assert cache.answer(KEY, b"v2", 1000.5) is None


def test_holds_are_spread_so_answers_kept_together_are_not_all_signed_again_together() -> None:
    cache = GrantCache(answer_seconds=4.0, rng=random.Random(7))
    keys = [GrantCache.key(f"Basic {n}", "registry.test", []) for n in range(200)]
    for key in keys:
        cache.keep_answer(key, b"v1", 1000, b"x", now=1000.0)
    expired_by = {moment: sum(cache.answer(key, b"v1", moment) is None for key in keys) for moment in (1002.5, 1003.0, 1003.5)}
    assert 0 < expired_by[1002.5] < expired_by[1003.0] < expired_by[1003.5] < len(keys), expired_by


def test_a_store_that_cannot_tell_its_version_gets_no_answers_kept() -> None:
    cache = GrantCache()
    cache.keep_answer(KEY, None, 1000, b'{"token":"t"}', now=1000.0)
    assert cache.answer(KEY, None, 1000.0) is None


def test_a_new_version_forgets_the_answers_of_the_last() -> None:
    cache = GrantCache()
    cache.keep_answer(KEY, b"v1", 1000, b"old", now=1000.0)
    other = GrantCache.key("Basic Ym9iOnB3", "registry.test", [])
    cache.keep_answer(other, b"v2", 1000, b"new", now=1000.0)
    assert cache.answer(other, b"v2", 1000.0) == b"new"
    assert cache.answer(KEY, b"v2", 1000.0) is None
    assert cache.size == len(b"new") + 150


def test_an_expired_answer_is_replaced_by_a_new_one() -> None:
    cache = GrantCache(answer_seconds=2.0)
    cache.keep_answer(KEY, b"v1", 1000, b"old", now=1000.0)
    cache.keep_answer(KEY, b"v1", 1002, b"new", now=1002.0)
    assert cache.answer(KEY, b"v1", 1002.1) == b"new"


def test_answers_kept_are_bounded_and_expired_ones_make_room() -> None:
    cache = GrantCache(answer_seconds=2.0)
    keys = [GrantCache.key(f"Basic {n}", "registry.test", []) for n in range(5000)]
    for key in keys:
        cache.keep_answer(key, b"v1", 1000, b"x", now=1000.0)
    assert cache.answer(keys[0], b"v1", 1000.0) == b"x"
    assert cache.answer(keys[3999], b"v1", 1000.0) == b"x"
    assert cache.answer(keys[4000], b"v1", 1000.0) is None, "the table was full"
    cache.keep_answer(keys[4000], b"v1", 1002, b"y", now=1002.0)
    assert cache.answer(keys[4000], b"v1", 1002.0) == b"y", "the expired answers made room"
    assert cache.answer(keys[0], b"v1", 1002.0) is None


def _grant(prefix: str, count: int) -> tuple[Scope, ...]:
    return tuple(Scope("repository", f"public/{prefix}-{n}", ("pull",)) for n in range(count))


def _key(n: int) -> bytes:
    return GrantCache.key("", "registry.test", [f"repository:public/{n}:pull"])


def test_decisions_are_bounded_by_their_bytes_as_tracemalloc_sees_them() -> None:
    """Anyone may send anonymous requests for a hundred public scopes each (a CI fleet's worth
    took a worker from 292 to 563 MiB); what the cache keeps stays near its byte budget."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        cache = GrantCache()
        for n in range(1500):
            cache.put(_key(n), b"v1", ANONYMOUS, _grant(str(n), 100), now=1000.0)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < MAX_BYTES * 1.25, f"{held / 2**20:.1f} MiB held"
    assert cache.size <= MAX_BYTES
    assert cache.get(_key(1499), b"v1", now=1000.0) is not None, "the most recent is kept"
    assert cache.get(_key(0), b"v1", now=1000.0) is None, "the oldest went first"


def test_a_huge_grant_is_not_kept() -> None:
    cache = GrantCache()
    cache.put(KEY, b"v1", ANONYMOUS, _grant("a", 1), now=1000.0)
    assert cache.get(KEY, b"v1", now=1000.0) is not None
    cache.put(KEY, b"v1", ANONYMOUS, _grant("b", 520), now=1001.0)
    assert cache.get(KEY, b"v1", now=1001.0) is None, "not the huge one, nor the one it replaces"
    assert (len(cache), cache.size) == (0, 0)


def test_decisions_expire_and_expired_ones_leave_memory() -> None:
    cache = GrantCache(ttl=60.0)
    cache.put(KEY, b"v1", ANONYMOUS, _grant("a", 3), now=1000.0)
    assert cache.get(KEY, b"v1", now=1059.0) is not None
    assert cache.get(KEY, b"v1", now=1061.0) is None
    cache.put(_key(1), b"v1", ANONYMOUS, _grant("b", 1), now=1061.0)
    assert len(cache) == 1 and cache.size == decision_size(ANONYMOUS, _grant("b", 1))


def test_answers_are_bounded_by_bytes_and_huge_ones_not_kept() -> None:
    cache = GrantCache()
    cache.keep_answer(KEY, b"v1", 1000, b"x" * (MAX_ENTRY_BYTES + 1), now=1000.0)
    assert cache.answer(KEY, b"v1", 1000.0) is None
    answer = b"x" * (MAX_ENTRY_BYTES // 2)
    for n in range(1000):
        cache.keep_answer(_key(n), b"v1", 1000, answer, now=1000.0)
    assert cache.size <= ANSWER_BYTES
    assert cache.answer(_key(0), b"v1", 1000.0) == answer
    assert cache.answer(_key(999), b"v1", 1000.0) is None
