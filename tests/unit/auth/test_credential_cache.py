"""The cache of recent successful password checks: a local password's check lasts while it is
used (by a login, or by a decision the token endpoint kept for it), up to the re-check bound; a
directory's lasts its lifetime however busy; a changed hash is a miss at once."""

from __future__ import annotations

from gateway.auth.login import CredentialCache

KEY = CredentialCache.key("alice", "secret")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cache(recheck: float = 3600) -> tuple[CredentialCache, Clock]:
    clock = Clock()
    return CredentialCache(ttl=60, recheck=recheck, clock=clock), clock


def test_a_password_in_use_stays_remembered_past_its_first_lifetime() -> None:
    cache, clock = _cache()
    cache.remember(KEY, "hash-1", slides=True)
    for moment in range(50, 600, 50):  # a login every 50 s keeps it another 60 s
        clock.now = moment
        assert cache.hit(KEY, "hash-1"), f"forgotten at {moment} s while in use"


def test_a_decision_kept_for_the_password_keeps_its_check_remembered() -> None:
    cache, clock = _cache()
    cache.remember(KEY, "hash-1", slides=True)
    for moment in range(50, 600, 50):  # the token endpoint answered from its grant cache
        clock.now = moment
        cache.renew(KEY)
    clock.now = 600  # 50 s after the last renewal: 600 s after the check itself
    assert cache.hit(KEY, "hash-1")


def test_a_check_left_unused_for_its_lifetime_is_forgotten_and_not_renewed() -> None:
    cache, clock = _cache()
    cache.remember(KEY, "hash-1", slides=True)
    clock.now = 61
    cache.renew(KEY)
    assert not cache.hit(KEY, "hash-1")


def test_a_password_is_checked_again_after_the_recheck_bound_however_busy() -> None:
    cache, clock = _cache(recheck=300)
    cache.remember(KEY, "hash-1", slides=True)
    for moment in range(10, 300, 10):
        clock.now = moment
        assert cache.hit(KEY, "hash-1")
    clock.now = 300
    assert not cache.hit(KEY, "hash-1")
    cache.remember(KEY, "hash-1", slides=True)  # checked again
    clock.now = 310
    assert cache.hit(KEY, "hash-1")


def test_a_directory_check_ends_with_its_lifetime_however_busy() -> None:
    cache, clock = _cache()
    cache.remember(KEY, "\0ldap", slides=False)
    for moment in (20, 40, 59):
        clock.now = moment
        assert cache.hit(KEY, "\0ldap")
        cache.renew(KEY)
    clock.now = 60
    assert not cache.hit(KEY, "\0ldap"), "a password changed in the directory must stop working within the lifetime"


def test_a_changed_hash_or_password_or_user_is_a_miss() -> None:
    cache, clock = _cache()
    cache.remember(KEY, "hash-1", slides=True)
    clock.now = 1
    assert not cache.hit(KEY, "hash-2")
    assert not cache.hit(CredentialCache.key("alice", "other"), "hash-1")
    assert not cache.hit(CredentialCache.key("bob", "secret"), "hash-1")
    assert not cache.hit(CredentialCache.key("alice\0secret", ""), "hash-1")
