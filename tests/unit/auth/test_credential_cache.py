"""The cache of recent successful password checks: an entry lasts while it is used, up to the
re-check bound, and a changed hash is a different entry."""

from __future__ import annotations

from gateway.auth.login import CredentialCache


def test_a_check_in_use_stays_remembered_past_its_first_lifetime() -> None:
    cache = CredentialCache(ttl=60, recheck=3600)
    key = CredentialCache.key("alice", "secret", "hash-1")
    cache.remember(key, now=0)
    for moment in range(50, 600, 50):  # asked every 50 s: each hit keeps it another 60 s
        assert cache.hit(key, now=moment), f"forgotten at {moment} s while in use"


def test_a_check_left_unused_for_its_lifetime_is_forgotten() -> None:
    cache = CredentialCache(ttl=60, recheck=3600)
    key = CredentialCache.key("alice", "secret", "hash-1")
    cache.remember(key, now=0)
    assert cache.hit(key, now=30)
    assert not cache.hit(key, now=91)


def test_a_password_is_checked_again_after_the_recheck_bound_however_busy() -> None:
    cache = CredentialCache(ttl=60, recheck=300)
    key = CredentialCache.key("alice", "secret", "hash-1")
    cache.remember(key, now=0)
    assert all(cache.hit(key, now=moment) for moment in range(10, 300, 10))
    assert not cache.hit(key, now=300)
    cache.remember(key, now=300)  # checked again
    assert cache.hit(key, now=310)


def test_a_changed_hash_or_password_is_another_entry() -> None:
    cache = CredentialCache(ttl=60, recheck=3600)
    cache.remember(CredentialCache.key("alice", "secret", "hash-1"), now=0)
    assert not cache.hit(CredentialCache.key("alice", "secret", "hash-2"), now=1)
    assert not cache.hit(CredentialCache.key("alice", "other", "hash-1"), now=1)
    assert not cache.hit(CredentialCache.key("bob", "secret", "hash-1"), now=1)
