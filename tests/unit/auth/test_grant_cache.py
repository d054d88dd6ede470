"""The grant cache's answers: kept for the second and data version they were made in, no longer."""

from __future__ import annotations

from gateway.auth.grant_cache import GrantCache

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
