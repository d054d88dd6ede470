"""The grant cache: answers kept for the second and data version they were made in, no longer;
decisions and answers bounded by their bytes, decisions expiring."""

from __future__ import annotations

import tracemalloc

from gateway.auth.grant_cache import ANSWER_BYTES, MAX_BYTES, MAX_ENTRY_BYTES, GrantCache, decision_size
from gateway.auth.policy import ANONYMOUS
from gateway.auth.scopes import Scope

KEY = GrantCache.key("Basic YWxpY2U6cHc=", "registry.test", ["repository:alice/app:pull"])


def test_an_answer_is_given_again_in_the_same_second_on_the_same_version() -> None:
    cache = GrantCache()
    cache.keep_answer(KEY, b"v1", 1000, b'{"token":"t"}')
    assert cache.answer(KEY, b"v1", 1000) == b'{"token":"t"}'


def test_an_answer_is_not_given_in_another_second_or_on_another_version() -> None:
    cache = GrantCache()
    cache.keep_answer(KEY, b"v1", 1000, b'{"token":"t"}')
    assert cache.answer(KEY, b"v1", 1001) is None
    assert cache.answer(KEY, b"v2", 1000) is None


def test_a_store_that_cannot_tell_its_version_gets_no_answers_kept() -> None:
    cache = GrantCache()
    cache.keep_answer(KEY, None, 1000, b'{"token":"t"}')
    assert cache.answer(KEY, None, 1000) is None


def test_a_new_second_forgets_the_answers_of_the_last() -> None:
    cache = GrantCache()
    cache.keep_answer(KEY, b"v1", 1000, b"old")
    other = GrantCache.key("Basic Ym9iOnB3", "registry.test", [])
    cache.keep_answer(other, b"v1", 1001, b"new")
    assert cache.answer(other, b"v1", 1001) == b"new"
    assert cache.answer(KEY, b"v1", 1001) is None


def test_answers_kept_within_one_second_are_bounded() -> None:
    cache = GrantCache()
    for n in range(5000):
        cache.keep_answer(GrantCache.key(f"Basic {n}", "registry.test", []), b"v1", 1000, b"x")
    assert cache.answer(GrantCache.key("Basic 0", "registry.test", []), b"v1", 1000) == b"x"
    assert cache.answer(GrantCache.key("Basic 999", "registry.test", []), b"v1", 1000) == b"x"
    assert cache.answer(GrantCache.key("Basic 1000", "registry.test", []), b"v1", 1000) is None


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


def test_answers_of_one_second_are_bounded_by_bytes_and_huge_ones_not_kept() -> None:
    cache = GrantCache()
    cache.keep_answer(KEY, b"v1", 1000, b"x" * (MAX_ENTRY_BYTES + 1))
    assert cache.answer(KEY, b"v1", 1000) is None
    answer = b"x" * (MAX_ENTRY_BYTES // 2)
    for n in range(1000):
        cache.keep_answer(_key(n), b"v1", 1000, answer)
    assert cache.size <= ANSWER_BYTES
    assert cache.answer(_key(0), b"v1", 1000) == answer
    assert cache.answer(_key(999), b"v1", 1000) is None
